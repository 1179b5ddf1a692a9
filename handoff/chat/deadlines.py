"""A live chat's SLA timers: first response (queued until an agent takes it) and resolution, started when
the chat is queued and stopped when an agent takes it, resolves it or hands it back to the bot.

`watch()` is the scheduler's pass, as for tickets (tickets/deadlines.py): one indexed query on
`sla_check_at`; each level reached once gets a staff-only note in the chat (its timeline), the agent's
console is told, the team's admins get a mail, and at a breach the policy's escalation runs. A next
response timer is not kept for chats: a customer's message is the hot path and stays one INSERT.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handoff import realtime
from handoff.chat import assignment
from handoff.db import session_scope
from handoff.mail import outbox
from handoff.models import PRIORITIES, Agent, Conversation, Message, utcnow
from handoff.routing import calendars, policy, sla, sla_policies

log = logging.getLogger("careregistry.sla")
BATCH = 200
CHAT_TIMERS = ("first_response", "resolution")


def _save(c: Conversation, timers: dict) -> None:
    c.sla = timers
    c.sla_check_at = sla.next_check(timers) if c.status in ("queued", "agent") else None


def _start(s: Session, c: Conversation, timers: dict, name: str, at: datetime) -> dict:
    return sla.start(timers, name, at, sla_policies.targets_for(s, c.priority, c.team_id),
                     calendars.hours_for(s, c.team_id), policy.current.sla_warn_ratio)


def queued(s: Session, c: Conversation) -> None:
    """Handed off to people: the timers start anew from when it was queued."""
    at = c.queued_at or utcnow()
    timers = {}
    for name in CHAT_TIMERS:
        timers = _start(s, c, timers, name, at)
    _save(c, timers)


def taken(conversation_id: int) -> None:
    """An agent took the chat: its first response is there."""
    with session_scope() as s:
        c = s.get(Conversation, conversation_id)
        if c is not None and c.sla:
            _save(c, sla.stop(c.sla, "first_response", utcnow()))


def ended(s: Session, c: Conversation) -> None:
    """Resolved, or back with the bot: every running timer stops, and the watcher forgets the chat."""
    now = utcnow()
    timers = c.sla or {}
    for name in list(sla.running(timers)):
        timers = sla.stop(timers, name, now)
    c.sla, c.sla_check_at = timers or None, None


def retarget(s: Session, c: Conversation) -> None:
    """The priority (or team) changed: running timers keep their start and take the new targets."""
    _save(c, sla.retargeted(c.sla, sla_policies.targets_for(s, c.priority, c.team_id),
                            calendars.hours_for(s, c.team_id), policy.current.sla_warn_ratio))


def view(c: Conversation, now: datetime | None = None) -> list[dict]:
    return sla.view(c.sla, now or utcnow())


# --- the watcher -----------------------------------------------------------------------------------------

def _admins(s: Session, team_id: int | None) -> list[Agent]:
    found = list(s.scalars(select(Agent).where(Agent.role == "admin", Agent.active.is_(True),
                                               Agent.team_id == team_id))) if team_id else []
    return found or list(s.scalars(select(Agent).where(Agent.role == "admin", Agent.active.is_(True))))


def _escalate(s: Session, c: Conversation, targets: sla.Targets, now: datetime) -> list[str]:
    done = []
    if targets.raise_priority and c.priority != PRIORITIES[-1]:
        c.priority = PRIORITIES[PRIORITIES.index(c.priority) + 1]
        retarget(s, c)
        done.append(f"priority raised to {c.priority}")
    if targets.requeue and c.status == "agent" and c.agent_id is not None:
        s.flush()  # the timers just announced must not be lost when the row is read again below
        s.execute(update(Conversation).where(Conversation.id == c.id, Conversation.status == "agent")
                  .values(status="queued", agent_id=None, queued_at=now, first_in_line=True, offered_to_id=None,
                          offered_at=None, updated_at=now))
        s.expire(c)
        done.append("back in the queue")
    return done


def watch(now: datetime | None = None) -> int:
    """Announce every chat timer level reached since the last run; returns how many were announced."""
    now = now or utcnow()
    with session_scope() as s:
        ids = list(s.scalars(select(Conversation.id).where(Conversation.sla_check_at <= now)
                             .order_by(Conversation.sla_check_at).limit(BATCH)))
    if not ids:
        return 0
    announced, alerts, notes, requeued = 0, [], [], []
    for cid in ids:
        with session_scope() as s:
            c = s.get(Conversation, cid, with_for_update=True)
            if c is None or c.sla_check_at is None or c.sla_check_at > now:
                continue
            timers, found = sla.notices(c.sla, now)
            _save(c, timers)
            for name, level in found:
                due, holder = timers[name]["due"], c.agent_id or c.offered_to_id
                targets = sla_policies.targets_for(s, c.priority, c.team_id)
                escalated = _escalate(s, c, targets, now) if level == "breached" else []
                words = "breached" if level == "breached" else "due soon"
                text = f"SLA {words}: {sla.WORDS[name]} due {datetime.fromisoformat(due):%Y-%m-%d %H:%M} UTC." + \
                    (f" Escalation: {', '.join(escalated)}." if escalated else "")
                m = Message(conversation_id=cid, sender="system", internal=True, text=text)
                s.add(m)
                s.flush()
                notes.append(m.id)
                for admin in _admins(s, c.team_id):
                    outbox.queue(s, admin.email, "sla_alert", agent=admin, level=level, timer=sla.WORDS[name],
                                 what=f"chat {cid}", subject=c.customer.label, priority=c.priority,
                                 link="/console", due=f"{datetime.fromisoformat(due):%Y-%m-%d %H:%M} UTC",
                                 escalation=escalated)
                if holder is not None:
                    alerts.append((holder, {"conversation": cid, "timer": name, "label": sla.WORDS[name],
                                            "level": level, "due": due + "Z"}))
                if "back in the queue" in escalated:
                    requeued.append(cid)
                announced += 1
                log.info("sla %s conversation=%s timer=%s escalation=%s", level, cid, name,
                         ",".join(x.replace(" ", "_") for x in escalated) or "none")
    _publish(alerts, notes, requeued)
    return announced


def _publish(alerts, notes, requeued) -> None:
    from handoff.chat.conversations import message_dict  # conversations calls this module's hooks

    with session_scope() as s:
        for mid in notes:
            realtime.publish_message(message_dict(s.get(Message, mid)))
    for agent_id, payload in alerts:
        realtime.publish_sla_alert(agent_id, payload)
    for cid in requeued:
        realtime.publish_status(cid, "queued", None)
    if requeued:
        assignment.dispatch()
    if alerts or requeued:
        assignment.publish_queue()
