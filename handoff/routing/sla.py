"""When a ticket or chat must be answered and resolved, and how near that is: SLA timers, pure.

A piece of work carries up to three timers (first response, next response, resolution), each started at
a moment with its target counted in the team's business hours (routing/hours.py). A timer is ok, then
warning once WARN_RATIO of its target has passed, then breached at its due time; stopped, it was met or
missed. Timers are kept as JSON on the ticket or chat ({"due", "warn", "start", "done", "notified"}, naive
UTC ISO strings); `notified` records the last level announced, so each level is announced once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handoff.routing.hours import Hours

TIMERS = ("first_response", "next_response", "resolution")
LEVELS = ("ok", "warning", "breached")
WORDS = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


@dataclass(frozen=True)
class Targets:
    """A policy's targets in business seconds (0: no target) and what happens at a breach."""

    first_response_s: int = 0
    next_response_s: int = 0
    resolution_s: int = 0
    raise_priority: bool = False  # at a breach, one priority step up (up to urgent)
    requeue: bool = False  # at a breach, back to the queue for someone else

    def seconds(self, timer: str) -> int:
        return getattr(self, f"{timer}_s")


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def start(timers: dict | None, name: str, at: datetime, targets: Targets, hours: Hours, warn_ratio: float) -> dict:
    """The timers with `name` (re)started at `at`; unchanged if the policy sets no target for it."""
    timers = dict(timers or {})
    seconds = targets.seconds(name)
    due = hours.add_business_seconds(at, seconds) if seconds else None
    if due is None:
        timers.pop(name, None)
        return timers
    warn = hours.add_business_seconds(at, seconds * warn_ratio) or due
    timers[name] = {"start": _iso(at), "due": _iso(due), "warn": _iso(min(warn, due))}
    return timers


def stop(timers: dict | None, name: str, at: datetime) -> dict:
    """The timers with `name` stopped at `at`, if it was running."""
    timers = dict(timers or {})
    timer = timers.get(name)
    if timer and "done" not in timer:
        timers[name] = {**timer, "done": _iso(at)}
    return timers


def clear(timers: dict | None, name: str) -> dict:
    timers = dict(timers or {})
    timers.pop(name, None)
    return timers


def state(timer: dict, now: datetime) -> str:
    """ok | warning | breached while running; met | missed once stopped."""
    due = _at(timer["due"])
    done = _at(timer.get("done"))
    if done is not None:
        return "met" if done <= due else "missed"
    if now >= due:
        return "breached"
    return "warning" if now >= _at(timer["warn"]) else "ok"


def running(timers: dict | None) -> dict:
    return {name: t for name, t in (timers or {}).items() if "done" not in t}


def retargeted(timers: dict | None, targets: Targets, hours: Hours, warn_ratio: float) -> dict:
    """The priority or team changed: running timers keep their start and what was already announced, and
    take the new targets."""
    timers = dict(timers or {})
    for name, timer in running(timers).items():
        told = timer.get("notified")
        timers = start(timers, name, datetime.fromisoformat(timer["start"]), targets, hours, warn_ratio)
        if told and name in timers:
            timers[name] = {**timers[name], "notified": told}
    return timers


def notices(timers: dict | None, now: datetime) -> tuple[dict, list[tuple[str, str]]]:
    """The levels reached since last announced, as [(timer, "warning" | "breached")], and the timers with
    them recorded. A timer that went from ok straight past its due time is announced once, as breached."""
    timers = dict(timers or {})
    found = []
    for name, timer in running(timers).items():
        level = state(timer, now)
        told = timer.get("notified", "ok")
        if LEVELS.index(level) > LEVELS.index(told):
            found.append((name, level))
            timers[name] = {**timer, "notified": level}
    return timers, found


def next_check(timers: dict | None) -> datetime | None:
    """The next moment a running timer reaches a level not yet announced (None: nothing left to watch)."""
    moments = []
    for timer in running(timers).values():
        told = timer.get("notified", "ok")
        if told == "ok":
            moments.append(_at(timer["warn"]))
        elif told == "warning":
            moments.append(_at(timer["due"]))
    return min(moments, default=None)


def nearest_due(timers: dict | None) -> datetime | None:
    """The earliest due time of the running timers: how the queue orders work by urgency."""
    return min((_at(t["due"]) for t in running(timers).values()), default=None)


def view(timers: dict | None, now: datetime) -> list[dict]:
    """The timers as the console and admin pages show them: due times end in Z for browsers."""
    shown = []
    for name in TIMERS:
        timer = (timers or {}).get(name)
        if timer:
            shown.append({"name": name, "label": WORDS[name], "due": timer["due"] + "Z",
                          "warn": timer["warn"] + "Z", "done": timer["done"] + "Z" if timer.get("done") else None,
                          "state": state(timer, now)})
    return shown
