"""Whether an agent takes chats: the status they chose, kept only while their console answers.

An agent chooses online, away or offline; until they choose, agents are online and admins offline (an
admin is routed nothing unless they say so). Whatever they chose, an agent whose consoles have all
closed, or whose console sent no heartbeat for PRESENCE_TIMEOUT seconds (a closed laptop), is offline.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from handoff.db import get_or_raise, session_scope
from handoff.errors import ServiceError
from handoff.models import PRESENCES, Agent, utcnow
from handoff.routing import policy


def chosen(presence: str | None, role: str) -> str:
    return presence or ("offline" if role == "admin" else "online")


def effective(presence: str | None, role: str, connections: int, last_seen_at: datetime | None,
              now: datetime | None = None) -> str:
    """online | away | offline, as routing and the other agents see it."""
    now = now or utcnow()
    live = connections > 0 and last_seen_at is not None and \
        now - last_seen_at <= timedelta(seconds=policy.current.presence_timeout)
    return chosen(presence, role) if live else "offline"


def of(agent: Agent, now: datetime | None = None) -> str:
    return effective(agent.presence, agent.role, agent.connections, agent.last_seen_at, now)


def status_of(agent_id: int) -> str:
    with session_scope() as s:
        agent = s.get(Agent, agent_id)
        return of(agent) if agent else "offline"


def live_since(now: datetime) -> datetime:
    """The oldest heartbeat that still counts as a live console."""
    return now - timedelta(seconds=policy.current.presence_timeout)


def connected(agent_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.id == agent_id)
                  .values(connections=Agent.connections + 1, last_seen_at=utcnow()))


def disconnected(agent_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.id == agent_id, Agent.connections > 0)
                  .values(connections=Agent.connections - 1, last_seen_at=utcnow()))


def heartbeat(agent_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.id == agent_id, Agent.connections > 0).values(last_seen_at=utcnow()))


def set_status(agent_id: int, status) -> str:
    """The agent's own choice of online, away or offline."""
    if status not in PRESENCES:
        raise ServiceError(f"Choose a status: {', '.join(PRESENCES)}.")
    with session_scope() as s:
        agent = get_or_raise(s, Agent, agent_id, "There is no such agent.")
        agent.presence = status
        return of(agent)


def reset() -> None:
    """No socket survives a restart of the only process, so nobody is online at start-up."""
    with session_scope() as s:
        s.execute(update(Agent).values(connections=0))
