"""A ticket's SLA timers: started and stopped by its transitions, watched for warnings and breaches.

The lifecycle calls `opened`, `agent_answered`, `customer_wrote`, `status_changed` and `retarget` in its
own transaction. `watch()` (the scheduler's job) takes the tickets whose `sla_check_at` has come, one
indexed query that finds nothing when nothing is near; for each level reached it writes the timeline's
event, mails the assignee and the team's admins, tells the assignee's console and applies the policy's
escalation at a breach. Each level is announced once (routing/sla.py records it on the timer).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import realtime
from handoff.db import session_scope
from handoff.mail import outbox
from handoff.models import PRIORITIES, Agent, Ticket, TicketEvent, utcnow
from handoff.routing import calendars, policy, sla, sla_policies

log = logging.getLogger("careregistry.sla")
BATCH = 200
OPEN = ("new", "open", "pending")


def _save(t: Ticket, timers: dict) -> None:
    t.sla = timers
    t.sla_check_at = sla.next_check(timers) if t.status in OPEN else None


def _start(s: Session, t: Ticket, timers: dict, name: str, at: datetime) -> dict:
    return sla.start(timers, name, at, sla_policies.targets_for(s, t.priority, t.team_id),
                     calendars.hours_for(s, t.team_id), policy.current.sla_warn_ratio)


def opened(s: Session, t: Ticket) -> None:
    at = t.created_at or utcnow()
    timers = _start(s, t, {}, "first_response", at)
    _save(t, _start(s, t, timers, "resolution", at))


def agent_answered(s: Session, t: Ticket) -> None:
    """A public reply: the first response if it is the first, and an answer to what the customer wrote."""
    now = utcnow()
    if t.first_response_at is None:
        t.first_response_at = now
    _save(t, sla.stop(sla.stop(t.sla, "first_response", now), "next_response", now))


def customer_wrote(s: Session, t: Ticket) -> None:
    """The customer wrote again: once answered before, a next response is due (its timer starts anew)."""
    if t.first_response_at is None:
        return
    timers = sla.clear(t.sla, "next_response")
    _save(t, _start(s, t, timers, "next_response", utcnow()))


def status_changed(s: Session, t: Ticket) -> None:
    """Resolved or closed stops every timer (resolving answers too); the watcher forgets the ticket."""
    if t.status in OPEN:
        _save(t, t.sla or {})
        return
    now = utcnow()
    timers = t.sla or {}
    for name in list(sla.running(timers)):
        timers = sla.stop(timers, name, now)
    _save(t, timers)


def retarget(s: Session, t: Ticket) -> None:
    """The priority (or team) changed: running timers keep their start and take the new targets."""
    _save(t, sla.retargeted(t.sla, sla_policies.targets_for(s, t.priority, t.team_id),
                            calendars.hours_for(s, t.team_id), policy.current.sla_warn_ratio))


def view(t: Ticket, now: datetime | None = None) -> list[dict]:
    return sla.view(t.sla, now or utcnow())


# --- the watcher -----------------------------------------------------------------------------------------

def _recipients(s: Session, t: Ticket) -> list[Agent]:
    """The assignee and the team's admins (every admin when the team has none, or there is no team)."""
    admins = list(s.scalars(select(Agent).where(Agent.role == "admin", Agent.active.is_(True),
                                                Agent.team_id == t.team_id))) if t.team_id else []
    if not admins:
        admins = list(s.scalars(select(Agent).where(Agent.role == "admin", Agent.active.is_(True))))
    people = ([t.assignee] if t.assignee and t.assignee.active else []) + admins
    return list({a.id: a for a in people}.values())


def _escalate(s: Session, t: Ticket, targets: sla.Targets) -> list[str]:
    done = []
    if targets.raise_priority and t.priority != PRIORITIES[-1]:
        old, t.priority = t.priority, PRIORITIES[PRIORITIES.index(t.priority) + 1]
        s.add(TicketEvent(ticket_id=t.id, kind="priority_changed", actor="SLA", public=False,
                          data={"old": old, "new": t.priority, "reason": "SLA breached"}))
        retarget(s, t)
        done.append(f"priority raised to {t.priority}")
    if targets.requeue and t.assignee_id is not None:
        name = t.assignee.name if t.assignee else None
        t.assignee_id, t.assignee = None, None
        s.add(TicketEvent(ticket_id=t.id, kind="unassigned", actor="SLA", public=False,
                          data={"agent": name, "reason": "SLA breached"}))
        done.append("back in the queue")
    return done


def watch(now: datetime | None = None) -> int:
    """Announce every timer level reached since the last run; returns how many were announced."""
    now = now or utcnow()
    with session_scope() as s:
        ids = list(s.scalars(select(Ticket.id).where(Ticket.sla_check_at <= now)
                             .order_by(Ticket.sla_check_at).limit(BATCH)))
    if not ids:
        return 0
    announced, alerts, requeued = 0, [], []
    for number in ids:
        with session_scope() as s:
            t = s.get(Ticket, number, with_for_update=True)
            if t is None or t.sla_check_at is None or t.sla_check_at > now:
                continue  # another process took it
            timers, found = sla.notices(t.sla, now)
            _save(t, timers)
            for name, level in found:
                targets = sla_policies.targets_for(s, t.priority, t.team_id)
                due, assignee, people = timers[name]["due"], t.assignee_id, _recipients(s, t)
                escalated = _escalate(s, t, targets) if level == "breached" else []
                s.add(TicketEvent(ticket_id=t.id, kind=f"sla_{level}", actor="SLA", public=False,
                                  data={"timer": name, "due": due + "Z", "escalation": escalated}))
                for person in people:
                    outbox.queue(s, person.email, "sla_alert", agent=person, level=level,
                                 what=f"ticket #{t.id}", subject=t.subject, priority=t.priority,
                                 link=f"/console/tickets/{t.id}",
                                 timer=sla.WORDS[name], due=f"{datetime.fromisoformat(due):%Y-%m-%d %H:%M} UTC",
                                 escalation=escalated)
                if assignee is not None:
                    alerts.append((assignee, {"ticket": t.id, "subject": t.subject, "timer": name,
                                                   "label": sla.WORDS[name], "level": level, "due": due + "Z"}))
                if "back in the queue" in escalated:
                    requeued.append(t.id)
                announced += 1
                log.info("sla %s ticket=%s timer=%s escalation=%s", level, t.id, name,
                         ",".join(x.replace(" ", "_") for x in escalated) or "none")
    for agent_id, payload in alerts:
        realtime.publish_sla_alert(agent_id, payload)
    if requeued:
        from handoff.tickets.lifecycle import route  # the lifecycle imports this module for its hooks

        for number in requeued:
            route(number)
    return announced
