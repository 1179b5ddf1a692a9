"""Which /agent sockets are open for which agent (in every process), and whether they may still act.

An agent's console socket outlives the HTTP session it was opened with. Deactivation and log-out close
it at once, wherever it is: the sockets are listed in the database and each is disconnected through the
Socket.IO message queue. Every event also checks the agent is still active in the session it connected
with, in case a socket slips between the two.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, select

from handoff import realtime
from handoff.db import session_scope
from handoff.models import Agent, AgentSocket

log = logging.getLogger("careregistry.sockets.agent")
NAMESPACE = "/agent"


def opened(sid: str, agent_id: int) -> None:
    with session_scope() as s:
        s.merge(AgentSocket(sid=sid, agent_id=agent_id))


def closed(sid: str) -> None:
    with session_scope() as s:
        s.execute(delete(AgentSocket).where(AgentSocket.sid == sid))


def close_all(agent_id: int) -> int:
    """Disconnect every console socket of this agent, in every process. Returns how many."""
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
