"""The database side of a choice: who is ready and how loaded, and the claims that cannot double-assign.

A claim is two conditional UPDATEs in one transaction: the agent's `routing_version` must still be the
one their load was counted at (so two processes that both saw room for one more cannot both fill it),
and the work must still be unowned (`offered_to_id IS NULL` for a chat, `assignee_id IS NULL` for a
ticket). Either failing rolls the whole claim back and the caller chooses again with fresh numbers.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handoff.models import Agent, Conversation, Ticket
from handoff.routing import policy, presence
from handoff.routing.selector import Candidate

OPEN_TICKET = ("new", "open", "pending")


class Lost(Exception):
    """Another process claimed first; choose again."""


def chat_load(s: Session) -> dict[int, int]:
    """Open chats per agent, offers not yet accepted included (an offer holds a place)."""
    owned = s.execute(select(Conversation.agent_id, func.count()).where(Conversation.status == "agent")
                      .group_by(Conversation.agent_id)).all()
    offered = s.execute(select(Conversation.offered_to_id, func.count())
                        .where(Conversation.status == "queued", Conversation.offered_to_id.is_not(None))
                        .group_by(Conversation.offered_to_id)).all()
    load: dict[int, int] = {}
    for agent_id, n in [*owned, *offered]:
        load[agent_id] = load.get(agent_id, 0) + n
    return load


def ticket_load(s: Session) -> dict[int, int]:
    return dict(s.execute(select(Ticket.assignee_id, func.count()).where(Ticket.status.in_(OPEN_TICKET),
                                                                         Ticket.assignee_id.is_not(None))
                          .group_by(Ticket.assignee_id)).all())


def ready(s: Session, now: datetime, *, tickets: bool = False) -> list[Candidate]:
    """Active agents who are online (chosen, and a live console), with their load and version."""
    rows = s.scalars(select(Agent).where(Agent.active.is_(True), Agent.connections > 0,
                                         Agent.last_seen_at >= presence.live_since(now))).all()
    load = ticket_load(s) if tickets else chat_load(s)
    return [Candidate(id=a.id, capacity=(a.ticket_capacity if tickets else a.capacity) or 0,
                      open=load.get(a.id, 0), skills=frozenset(a.skills or ()), team_id=a.team_id,
                      last_assigned_at=a.last_assigned_at, version=a.routing_version)
            for a in rows if presence.of(a, now) == "online"]


def skilled_somewhere(s: Session) -> set[str]:
    """Every skill some active agent has, online or not."""
    found: set[str] = set()
    for skills in s.scalars(select(Agent.skills).where(Agent.active.is_(True))):
        found.update(skills or ())
    return found


def _take_agent(s: Session, c: Candidate, now: datetime) -> None:
    won = s.execute(update(Agent).where(Agent.id == c.id, Agent.routing_version == c.version,
                                        Agent.active.is_(True))
                    .values(routing_version=Agent.routing_version + 1, last_assigned_at=now)).rowcount
    if won != 1:
        raise Lost()


def offer_chat(s: Session, conversation_id: int, c: Candidate, now: datetime) -> None:
    """Hold a queued chat for this agent until they accept it (or the offer lapses)."""
    _take_agent(s, c, now)
    won = s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.status == "queued",
                                               Conversation.offered_to_id.is_(None))
                    .values(offered_to_id=c.id, offered_at=now)).rowcount
    if won != 1:
        raise Lost()


def give_chat(s: Session, conversation_id: int, c: Candidate, now: datetime, *, from_agent: int | None) -> None:
    """Move a chat straight to this agent (a transfer): from its current owner, or from the queue."""
    _take_agent(s, c, now)
    owner = Conversation.agent_id == from_agent if from_agent is not None else Conversation.agent_id.is_(None)
    status = "agent" if from_agent is not None else "queued"
    won = s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.status == status,
                                               owner)
                    .values(status="agent", agent_id=c.id, offered_to_id=None, offered_at=None, assigned_at=now,
                            first_in_line=False, updated_at=now)).rowcount
    if won != 1:
        raise Lost()


def accept_offer(s: Session, conversation_id: int, agent_id: int, now: datetime) -> bool:
    return s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.status == "queued",
                                                Conversation.offered_to_id == agent_id)
                     .values(status="agent", agent_id=agent_id, offered_to_id=None, offered_at=None,
                             assigned_at=now, first_in_line=False, updated_at=now)).rowcount == 1


def take_from_queue(s: Session, conversation_id: int, agent_id: int, now: datetime) -> bool:
    """Broadcast mode: the first agent to accept a queued chat wins it."""
    return s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.status == "queued")
                     .values(status="agent", agent_id=agent_id, offered_to_id=None, offered_at=None,
                             assigned_at=now, first_in_line=False, updated_at=now)).rowcount == 1


def withdraw_offer(s: Session, conversation_id: int, agent_id: int, offered_at: datetime | None = None) -> bool:
    """Take back an offer (it lapsed, or the agent left); only that exact offer, if still open."""
    query = update(Conversation).where(Conversation.id == conversation_id, Conversation.status == "queued",
                                       Conversation.offered_to_id == agent_id)
    if offered_at is not None:
        query = query.where(Conversation.offered_at == offered_at)
    return s.execute(query.values(offered_to_id=None, offered_at=None)).rowcount == 1


def claim_ticket(s: Session, number: int, c: Candidate, now: datetime) -> None:
    _take_agent(s, c, now)
    won = s.execute(update(Ticket).where(Ticket.id == number, Ticket.assignee_id.is_(None),
                                         Ticket.status.in_(OPEN_TICKET))
                    .values(assignee_id=c.id)).rowcount
    if won != 1:
        raise Lost()


def offline_with_chats(s: Session, now: datetime, grace_s: float) -> list[int]:
    """Agents holding chats or offers whose consoles have been gone longer than the grace period.

    Gone from when the last console closed, or from when a silent one stopped counting as live. An
    agent who chose offline or away with a console still open keeps their chats: they are at the desk.
    """
    holders = set(chat_load(s))
    if not holders:
        return []
    timeout = timedelta(seconds=policy.current.presence_timeout)
    gone = []
    for a in s.scalars(select(Agent).where(Agent.id.in_(holders))):
        seen = a.last_seen_at or datetime.min
        live = a.connections > 0 and now - seen <= timeout
        if live:
            continue
        since = seen if a.connections == 0 else seen + timeout
        if now - since > timedelta(seconds=grace_s):
            gone.append(a.id)
    return gone
