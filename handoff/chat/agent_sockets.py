"""Which /agent sockets are open for which agent (in every process), and whether they may still act.

An agent's console socket outlives the HTTP session it was opened with. Deactivation and log-out close
it at once, wherever it is: the sockets are listed in the database and each is disconnected through the
Socket.IO message queue. Events also check the agent is still active in the session it connected with,
in case a socket slips between the two: from the database every RECHECK_SECONDS, and at once after this
process closed the agent's sockets (a database read on every message halved the relay's capacity).
"""
from __future__ import annotations

import logging
import time

from sqlalchemy import delete, select

from handoff import realtime
from handoff.db import session_scope
from handoff.models import Agent, AgentSocket

log = logging.getLogger("careregistry.sockets.agent")
NAMESPACE = "/agent"
RECHECK_SECONDS = 5.0
_closed_at: dict[int, float] = {}  # agent id -> when this process last closed their sockets


def must_recheck(agent_id: int, checked_at: float) -> bool:
    """Whether a socket last found allowed at `checked_at` (time.monotonic) must ask the database again."""
    return time.monotonic() - checked_at > RECHECK_SECONDS or _closed_at.get(agent_id, float("-inf")) >= checked_at


def opened(sid: str, agent_id: int) -> None:
    with session_scope() as s:
        s.merge(AgentSocket(sid=sid, agent_id=agent_id))


def closed(sid: str) -> None:
    with session_scope() as s:
        s.execute(delete(AgentSocket).where(AgentSocket.sid == sid))


def close_all(agent_id: int) -> int:
    """Disconnect every console socket of this agent, in every process. Returns how many."""
    _closed_at[agent_id] = time.monotonic()
    with session_scope() as s:
        sids = list(s.scalars(select(AgentSocket.sid).where(AgentSocket.agent_id == agent_id)))
        s.execute(delete(AgentSocket).where(AgentSocket.agent_id == agent_id))
    for sid in sids:
        realtime.disconnect(sid, NAMESPACE)
    if sids:
        log.info("agent sockets closed agent=%s sockets=%s", agent_id, len(sids))
    return len(sids)


def may_act(agent_id: int, session_version: int) -> bool:
    """Still active, in the log-in session the socket was opened with (one indexed read)."""
    with session_scope() as s:
        row = s.execute(select(Agent.active, Agent.session_version).where(Agent.id == agent_id)).first()
    return row is not None and row.active and row.session_version == session_version
