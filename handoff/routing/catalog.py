"""Categories (the topics of chats, tickets and FAQs, which agents' skills name) and teams, as admins set them."""
from __future__ import annotations

import logging
import re

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.db import get_or_raise, session_scope
from handoff.errors import Conflict, ServiceError, clean_text
from handoff.models import Agent, Category, Team

log = logging.getLogger("careregistry.routing")
SLUG = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


def slugs(s: Session | None = None) -> tuple[str, ...]:
    if s is None:
        with session_scope() as s:
            return slugs(s)
    return tuple(s.scalars(select(Category.slug).order_by(Category.id)))


def require_category(category, s: Session | None = None) -> str:
    """The category if an admin defined it, else a clear refusal naming the ones there are."""
    known = slugs(s)
    if category not in known:
        raise ServiceError(f"Unknown category; use one of: {', '.join(known)}.")
    return category


def require_skills(skills, s: Session | None = None) -> list[str]:
    known = slugs(s)
    skills = list(dict.fromkeys(skills or ()))
    bad = [x for x in skills if x not in known]
    if bad:
        raise ServiceError(f"Unknown skill(s) {', '.join(map(str, bad))}; use: {', '.join(known)}.")
    return skills


def team_of(s: Session, category: str | None) -> int | None:
    return s.scalar(select(Category.team_id).where(Category.slug == category)) if category else None


def categories() -> list[dict]:
    with session_scope() as s:
        teams = dict(s.execute(select(Team.id, Team.name)).all())
        return [{"id": c.id, "slug": c.slug, "name": c.name, "team_id": c.team_id, "team": teams.get(c.team_id)}
                for c in s.scalars(select(Category).order_by(Category.id))]


def teams() -> list[dict]:
    with session_scope() as s:
        sizes = dict(s.execute(select(Agent.team_id, func.count()).where(Agent.active.is_(True))
                               .group_by(Agent.team_id)).all())
        return [{"id": t.id, "name": t.name, "agents": sizes.get(t.id, 0)}
                for t in s.scalars(select(Team).order_by(Team.name))]


def _team_id(s: Session, team_id) -> int | None:
    if team_id in (None, "", "none"):
        return None
    try:
        team_id = int(team_id)
    except (TypeError, ValueError):
        raise ServiceError("Choose a team from the list.") from None
    get_or_raise(s, Team, team_id, "There is no such team.")
    return team_id


def save_category(slug, name, team_id=None) -> dict:
    """Create the category, or rename it and change its team (a slug, once used, stays)."""
    slug = (slug or "").strip().lower() if isinstance(slug, str) else ""
    if not SLUG.match(slug):
        raise ServiceError("A category's code is 2-32 lowercase letters, digits, - or _, starting with a letter.")
    name = clean_text(name or slug.capitalize(), 80, "name", one_line=True)
    with session_scope() as s:
        team = _team_id(s, team_id)
        c = s.scalar(select(Category).where(Category.slug == slug))
        if c is None:
            c = Category(slug=slug, name=name, team_id=team)
            s.add(c)
        else:
            c.name, c.team_id = name, team
        s.flush()
        log.info("category saved slug=%s team=%s", slug, team)
        return {"id": c.id, "slug": c.slug, "name": c.name, "team_id": c.team_id}


def create_team(name) -> dict:
    name = clean_text(name, 80, "team name", one_line=True)
    try:
        with session_scope() as s:
            t = Team(name=name)
            s.add(t)
            s.flush()
            log.info("team created id=%s", t.id)
            return {"id": t.id, "name": t.name}
    except IntegrityError:
        raise Conflict(f"There is already a team called {name}.") from None


def set_agent_routing(agent_id: int, *, skills, team_id, capacity, ticket_capacity) -> None:
    """An agent's skills, team and how many chats and tickets they carry at once (admins set these)."""
    caps = []
    for value, what in ((capacity, "chat capacity"), (ticket_capacity, "ticket capacity")):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ServiceError(f"The {what} is a whole number from 0 to 50.") from None
        if not 0 <= value <= 50:
            raise ServiceError(f"The {what} is a whole number from 0 to 50.")
        caps.append(value)
    with session_scope() as s:
        skills = require_skills(skills, s)
        team = _team_id(s, team_id)
        agent = get_or_raise(s, Agent, agent_id, "There is no such agent.")
        agent.skills, agent.team_id, agent.capacity, agent.ticket_capacity = skills, team, caps[0], caps[1]
        # A lower capacity must not race an assignment that checked the old one.
        s.execute(update(Agent).where(Agent.id == agent_id).values(routing_version=Agent.routing_version + 1))
    log.info("agent routing set agent=%s team=%s capacity=%s ticket_capacity=%s", agent_id, team, *caps)
