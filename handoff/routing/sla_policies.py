"""SLA policies as admins set them: targets per priority, for everyone or for one team, and the escalation."""
from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handoff.db import get_or_raise, session_scope
from handoff.errors import ServiceError
from handoff.models import PRIORITIES, SlaPolicy, Team
from handoff.routing.sla import Targets

log = logging.getLogger("careregistry.routing")
MAX_MINUTES = 60 * 24 * 365  # a year of business time
NONE = Targets()


def targets_for(s: Session, priority: str, team_id: int | None) -> Targets:
    """The team's policy for this priority if it has one, else the desk's, else no targets."""
    rows = {r.team_id: r for r in s.scalars(select(SlaPolicy).where(
        SlaPolicy.priority == priority, (SlaPolicy.team_id == team_id) | SlaPolicy.team_id.is_(None)))}
    row = rows.get(team_id) if team_id is not None and team_id in rows else rows.get(None)
    if row is None:
        return NONE
    return Targets(row.first_response_s, row.next_response_s, row.resolution_s, bool(row.raise_priority),
                   bool(row.requeue))


def policies() -> list[dict]:
    with session_scope() as s:
        teams = dict(s.execute(select(Team.id, Team.name)).all())
        rows = s.scalars(select(SlaPolicy)).all()
        order = {p: i for i, p in enumerate(reversed(PRIORITIES))}
        rows = sorted(rows, key=lambda r: (teams.get(r.team_id, ""), order.get(r.priority, 9)))
        return [{"id": r.id, "priority": r.priority, "team_id": r.team_id, "team": teams.get(r.team_id),
                 "first_response_min": r.first_response_s // 60, "next_response_min": r.next_response_s // 60,
                 "resolution_min": r.resolution_s // 60, "raise_priority": r.raise_priority, "requeue": r.requeue}
                for r in rows]


def _minutes(value, what: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text:
        return 0
    if not text.isdigit() or int(text) > MAX_MINUTES:
        raise ServiceError(f"The {what} target is a whole number of business minutes, 0 (none) to {MAX_MINUTES}.")
    return int(text)


def save(priority, team_id, *, first_response_min, next_response_min, resolution_min,
         raise_priority=False, requeue=False) -> dict:
    """Create or change the policy for this priority and team (team None: everyone without a team policy)."""
    if priority not in PRIORITIES:
        raise ServiceError(f"Unknown priority; use one of: {', '.join(PRIORITIES)}.")
    minutes = [_minutes(first_response_min, "first response"), _minutes(next_response_min, "next response"),
               _minutes(resolution_min, "resolution")]
    with session_scope() as s:
        if team_id in (None, "", "none"):
            team_id = None
        else:
            if not str(team_id).isdigit():
                raise ServiceError("Choose a team from the list.")
            team_id = get_or_raise(s, Team, int(team_id), "There is no such team.").id
        row = s.scalar(select(SlaPolicy).where(SlaPolicy.priority == priority, SlaPolicy.team_id.is_(None)
                                               if team_id is None else SlaPolicy.team_id == team_id))
        if row is None:
            row = SlaPolicy(priority=priority, team_id=team_id)
            s.add(row)
        row.first_response_s, row.next_response_s, row.resolution_s = (m * 60 for m in minutes)
        row.raise_priority, row.requeue = bool(raise_priority), bool(requeue)
        s.flush()
        log.info("sla policy saved priority=%s team=%s", priority, team_id)
        return {"id": row.id, "priority": priority, "team_id": team_id}


def remove(policy_id: int) -> None:
    """Remove a team's policy (the desk's own ones stay: they are what every other team falls back to)."""
    with session_scope() as s:
        row = get_or_raise(s, SlaPolicy, policy_id, "There is no such policy.")
        if row.team_id is None:
            raise ServiceError("The desk's policies stay; set a target to 0 for none.")
        s.execute(delete(SlaPolicy).where(SlaPolicy.id == policy_id))
