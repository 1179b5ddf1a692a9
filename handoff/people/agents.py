"""Agents and admins: accounts, roles, skills, and deactivation (which puts their work back in the queue)."""
from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from handoff.chat import agent_sockets, assignment, conversations
from handoff.db import get_or_raise, session_scope
from handoff.errors import Conflict, NotFound, ServiceError, clean_email, clean_text
from handoff.models import Agent, Conversation
from handoff.routing import catalog, claims, presence
from handoff.people import throttle
from handoff.people.passwords import hash_password, verify_password
from handoff.tickets.lifecycle import release_agent_tickets

log = logging.getLogger("careregistry.agents")
ROLES = ("agent", "admin")


def agent_dict(a: Agent, open_conversations: int = 0) -> dict:
    return {"id": a.id, "name": a.name, "email": a.email, "role": a.role, "skills": list(a.skills or []),
            "capacity": a.capacity, "ticket_capacity": a.ticket_capacity, "team_id": a.team_id,
            "active": a.active, "online": a.connections > 0, "presence": presence.of(a),
            "open_conversations": open_conversations, "session_version": a.session_version}


def create(name, email, password, role: str = "agent", skills=()) -> dict:
    name = clean_text(name, 120, "name")
    email = clean_email(email)
    _check_password(password)
    if role not in ROLES:
        raise ServiceError("The role must be 'agent' or 'admin'.")
    skills = catalog.require_skills(skills)
    try:
        with session_scope() as s:
            a = Agent(name=name, email=email, password_hash=hash_password(password), role=role,
                      skills=list(skills))
            s.add(a)
            s.flush()
            log.info("agent created id=%s role=%s", a.id, role)
            return agent_dict(a)
    except IntegrityError:
        raise Conflict(f"An agent with the email {email} already exists.") from None


def _check_password(password) -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise ServiceError("The password must be at least 8 characters.")


def set_password(email, password) -> dict:
    """An operator's reset of a staff password (the demo's random ones, a forgotten one)."""
    email = clean_email(email)
    _check_password(password)
    with session_scope() as s:
        a = s.scalar(select(Agent).where(Agent.email == email))
        if a is None:
            raise NotFound(f"There is no agent or admin with the email {email}.")
        a.password_hash = hash_password(password)
        log.info("agent password set id=%s", a.id)
        return agent_dict(a)


def authenticate(email, password, address: str) -> dict:
    """The active agent or admin, or a refusal: wrong credentials (401) or throttled (429)."""
    password = password if isinstance(password, str) else ""

    def verify(account: str) -> dict | None:
        with session_scope() as s:
            a = s.scalar(select(Agent).where(Agent.email == account))
            ok = a is not None and a.active and verify_password(a.password_hash, password)
            return agent_dict(a) if ok else None

    return throttle.guarded(email, address, verify)


def get(agent_id: int) -> dict:
    with session_scope() as s:
        a = get_or_raise(s, Agent, agent_id, "There is no such agent.")
        return agent_dict(a)


def list_all() -> list[dict]:
    with session_scope() as s:
        counts = dict(s.execute(select(Conversation.agent_id, func.count()).where(Conversation.status == "agent")
                                .group_by(Conversation.agent_id)).all())
        return [agent_dict(a, counts.get(a.id, 0)) for a in s.scalars(select(Agent).order_by(Agent.name))]


def set_active(agent_id: int, active: bool) -> None:
    with session_scope() as s:
        a = get_or_raise(s, Agent, agent_id, "There is no such agent.")
        a.active = active
        if not active:
            a.session_version += 1
    if not active:
        # Their consoles close before the queue is republished, so the queue never reaches them again.
        agent_sockets.close_all(agent_id)
        conversations.release_agent_work(agent_id)  # their open work goes back to the queue
        release_agent_tickets(agent_id)
        log.info("agent deactivated id=%s", agent_id)


def set_routing(agent_id: int, *, skills, team_id, capacity, ticket_capacity) -> None:
    """Skills, team and capacities; a raised capacity may take waiting work at once."""
    catalog.set_agent_routing(agent_id, skills=skills, team_id=team_id, capacity=capacity,
                              ticket_capacity=ticket_capacity)
    assignment.dispatch()
    release_over_capacity_offers(agent_id)


def release_over_capacity_offers(agent_id: int) -> None:
    """Offers beyond a lowered capacity go to someone else (accepted chats stay: nobody is cut off)."""
    with session_scope() as s:
        a = s.get(Agent, agent_id)
        over = claims.chat_load(s).get(agent_id, 0) - (a.capacity if a else 0)
    if over > 0:
        assignment.withdraw_offers_of(agent_id, reason="capacity lowered")
        assignment.dispatch()


def revoke_sessions(agent_id: int) -> None:
    """Log-out: every session cookie of this agent stops working, and their open consoles close."""
    with session_scope() as s:
        s.execute(update(Agent).where(Agent.id == agent_id).values(session_version=Agent.session_version + 1))
    agent_sockets.close_all(agent_id)
