"""Which agent gets a piece of work: a pure choice over the agents who may take it.

The best agent is online (the caller lists only those), under capacity, skilled in the topic, with the
fewest open items, then the longest since their last assignment. A topic nobody ready is skilled in
waits for a skilled agent, unless nobody active has the skill at all or it has waited `skill_wait`
seconds already: then any agent with room takes it, so no topic waits for ever.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
_NEVER = datetime.min


@dataclass
class Candidate:
    id: int
    capacity: int
    open: int = 0
    skills: frozenset = field(default_factory=frozenset)
    team_id: int | None = None
    last_assigned_at: datetime | None = None
    version: int = 0

    @property
    def has_room(self) -> bool:
        return self.open < self.capacity


def choose(candidates: list[Candidate], topic: str | None, *, skill_exists: bool, waited_s: float,
           skill_wait: float, team_id: int | None = None) -> Candidate | None:
    """The agent to offer this to, or None (it waits). `skill_exists`: some active agent has the topic."""
    room = [c for c in candidates if c.has_room and (team_id is None or c.team_id == team_id)]
    if not room:
        return None
    if topic:
        skilled = [c for c in room if topic in c.skills]
        if skilled:
            room = skilled
        elif skill_exists and waited_s < skill_wait:
            return None
    return min(room, key=lambda c: (c.open, c.last_assigned_at or _NEVER, c.id))


def queue_key(first_in_line: bool, priority: str, queued_at: datetime | None, due: datetime | None = None) -> tuple:
    """The queue's order: taken back from an offline agent first, then the nearest SLA due time (work
    without one after), then by priority, then by waiting time."""
    return (not first_in_line, due is None, due or _NEVER, PRIORITY_RANK.get(priority, 2), queued_at or _NEVER)
