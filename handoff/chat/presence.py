"""Whether an agent is online: the number of console sockets each agent has open."""
from __future__ import annotations

from sqlalchemy import update

from handoff.db import session_scope
from handoff.models import Agent


def connected(agent_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.id == agent_id).values(connections=Agent.connections + 1))


def disconnected(agent_id: int) -> None:
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.id == agent_id, Agent.connections > 0)
                  .values(connections=Agent.connections - 1))


def reset() -> None:
    """No socket survives a restart of the only process, so nobody is online at start-up."""
    with session_scope() as s:
        s.execute(update(Agent).values(connections=0))
