"""Whose business hours apply to a piece of work, and admins' changes to them.

A team's own hours apply to its work; work of no team, or of a team without hours, follows the desk's
hours; with neither set the desk is always open (routing/hours.py `ALWAYS`).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.db import get_or_raise, session_scope
from handoff.errors import ServiceError
from handoff.models import Setting, Team
from handoff.routing.hours import ALWAYS, DAYS, Hours, HoursError, from_dict

log = logging.getLogger("careregistry.routing")
DESK_KEY = "desk_hours"
MAX_FIELD = 200  # characters in one day's field or the time zone
MAX_HOLIDAYS_TEXT = 4000


def _stored(raw) -> Hours:
    try:
        return from_dict(raw)
    except HoursError:  # checked when saved; a hand-edited row that no longer parses is always open
        log.warning("business hours unreadable, taken as always open")
        return ALWAYS


def desk_hours(s: Session) -> Hours:
    row = s.get(Setting, DESK_KEY)
    return _stored(json.loads(row.value)) if row and row.value else ALWAYS


def hours_for(s: Session, team_id: int | None) -> Hours:
    if team_id is not None:
        raw = s.scalar(select(Team.hours).where(Team.id == team_id))
        if raw:
            return _stored(raw)
    return desk_hours(s)


def closed_until(s: Session, team_id: int | None, now: datetime) -> tuple[bool, datetime | None, str]:
    """(closed now, when it opens again (None: not within a year), the calendar's time zone)."""
    hours = hours_for(s, team_id)
    if hours.always or hours.is_open(now):
        return False, None, hours.tz
    return True, hours.next_open(now), hours.tz


def back_words(back_at: datetime | None, tz: str) -> str:
    """When a person is back, in the team's own time zone (the bot does not know the customer's)."""
    if back_at is None:
        return "Nobody is available for a while"
    local = back_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
    return f"A person is back {local:%A} {local.day} {local:%B} at {local:%H:%M} ({tz} time)"


# --- what admins see and change ------------------------------------------------------------------------

def as_form(hours: Hours) -> dict:
    """The fields of the admin's form: tz, one "09:00-17:00, 18:00-20:00" per weekday, holidays one a line."""
    data = hours.as_dict() or {"tz": "", "week": {}, "holidays": []}
    return {"tz": data["tz"], "holidays": "\n".join(data["holidays"]),
            **{d: ", ".join(f"{a}-{b}" for a, b in data["week"].get(d, [])) for d in DAYS}}


def from_form(form) -> Hours:
    """An admin's form as a calendar; every field empty clears the hours (always open)."""
    fields = {k: (form.get(k) or "").strip() for k in ("tz", "holidays", *DAYS)}
    if any(len(v) > MAX_FIELD for k, v in fields.items() if k != "holidays") or \
            len(fields["holidays"]) > MAX_HOLIDAYS_TEXT:
        raise ServiceError("That is too long for opening hours.")
    if not any(fields.values()):
        return ALWAYS
    week = {d: [x.strip() for x in fields[d].split(",") if x.strip()] for d in DAYS}
    holidays = [x for x in fields["holidays"].replace(",", "\n").split() if x]
    try:
        return from_dict({"tz": fields["tz"] or "UTC", "week": week, "holidays": holidays})
    except HoursError as e:
        raise ServiceError(str(e)) from None


def calendars() -> list[dict]:
    """The desk's hours first, then each team's: {"team_id", "name", "form", "always"}."""
    with session_scope() as s:
        desk = desk_hours(s)
        rows = [{"team_id": None, "name": "Whole desk", "form": as_form(desk), "always": desk.always}]
        for t in s.scalars(select(Team).order_by(Team.name)):
            h = _stored(t.hours)
            rows.append({"team_id": t.id, "name": t.name, "form": as_form(h), "always": h.always})
        return rows


def save(team_id, form) -> Hours:
    """Set a team's hours (team_id None: the desk's)."""
    hours = from_form(form)
    with session_scope() as s:
        if team_id in (None, "", "desk"):
            row = s.get(Setting, DESK_KEY)
            value = json.dumps(hours.as_dict()) if not hours.always else ""
            if row is None:
                s.add(Setting(key=DESK_KEY, value=value))
            else:
                row.value = value
            team_id = None
        else:
            team = get_or_raise(s, Team, int(team_id), "There is no such team.")
            team.hours = hours.as_dict()
    log.info("business hours saved team=%s always=%s", team_id, hours.always)
    return hours
