"""SLA attainment over a period: of the tickets and chats that came in, the share whose first response and
resolution met their targets, per team, per agent and per priority.

A timer counts once it is decided: stopped (met or missed) or past its due time while still running
(missed). One still running inside its target is pending and left out of the share.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from handoff.db import session_scope
from handoff.models import PRIORITIES, Agent, Conversation, Team, Ticket, utcnow
from handoff.routing import sla

MEASURED = ("first_response", "resolution")
MAX_ROWS = 20000  # items read for one report; a longer period is cut to its latest


def _outcome(timer: dict | None, now: datetime) -> str | None:
    if not timer:
        return None
    state = sla.state(timer, now)
    return {"met": "met", "missed": "missed", "breached": "missed"}.get(state, "pending")


def _empty() -> dict:
    return {t: {"met": 0, "missed": 0, "pending": 0} for t in MEASURED} | {"items": 0}


def _finish(row: dict) -> dict:
    for t in MEASURED:
        decided = row[t]["met"] + row[t]["missed"]
        row[t]["pct"] = round(100 * row[t]["met"] / decided, 1) if decided else None
    return row


def attainment(start: datetime, end: datetime, now: datetime | None = None) -> dict:
    """{"overall", "team": [...], "agent": [...], "priority": [...]}; each row {"key", "items",
    "first_response": {"met", "missed", "pending", "pct"}, "resolution": {...}}."""
    now = now or utcnow()
    with session_scope() as s:
        teams = dict(s.execute(select(Team.id, Team.name)).all())
        names = dict(s.execute(select(Agent.id, Agent.name)).all())
        items = [(t.sla, t.team_id, t.assignee_id, t.priority) for t in s.execute(
            select(Ticket.sla, Ticket.team_id, Ticket.assignee_id, Ticket.priority)
            .where(Ticket.created_at >= start, Ticket.created_at < end, Ticket.sla.is_not(None))
            .order_by(Ticket.created_at.desc()).limit(MAX_ROWS))]
        items += [(c.sla, c.team_id, c.agent_id, c.priority) for c in s.execute(
            select(Conversation.sla, Conversation.team_id, Conversation.agent_id, Conversation.priority)
            .where(Conversation.queued_at >= start, Conversation.queued_at < end, Conversation.sla.is_not(None))
            .order_by(Conversation.queued_at.desc()).limit(MAX_ROWS))]
    overall = _empty()
    groups: dict[str, dict[str, dict]] = {"team": {}, "agent": {}, "priority": {}}
    for timers, team_id, agent_id, priority in items:
        keys = {"team": teams.get(team_id, "No team"), "agent": names.get(agent_id, "Unassigned"),
                "priority": priority}
        rows = [overall] + [groups[g].setdefault(k, _empty()) for g, k in keys.items()]
        for row in rows:
            row["items"] += 1
        for t in MEASURED:
            outcome = _outcome((timers or {}).get(t), now)
            if outcome:
                for row in rows:
                    row[t][outcome] += 1
    rank = {p: i for i, p in enumerate(reversed(PRIORITIES))}
    order = {"team": lambda k: k, "agent": lambda k: k, "priority": lambda k: rank.get(k, 9)}
    return {"overall": _finish(overall),
            **{g: [_finish({"key": k, **row}) for k, row in sorted(rows.items(), key=lambda kv: order[g](kv[0]))]
               for g, rows in groups.items()}}
