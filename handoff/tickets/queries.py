"""Reading tickets: who may see which ticket, its timeline, and search with filters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, or_, select

from handoff.db import session_scope
from handoff.errors import NotFound
from handoff.models import Customer, Ticket, TicketEvent
from handoff.routing import sla

from . import deadlines
from .lifecycle import PRIORITIES, STATUS_WORDS, TRANSITIONS, ticket_dict


def event_dict(e: TicketEvent) -> dict:
    return {"kind": e.kind, "actor": e.actor, "public": e.public, "data": e.data or {},
            "created_at": e.created_at}


def detail_dict(t: Ticket, public_only: bool) -> dict:
    data = ticket_dict(t)
    data.update({
        "description": t.description, "source": t.source, "escalated": t.escalated,
        "customer": {"id": t.customer.id, "label": t.customer.label, "email": t.customer.email},
        "assignee_id": t.assignee_id, "conversation_id": t.conversation_id, "parent_id": t.parent_id,
        "triage": t.triage, "rating": t.rating, "rating_comment": t.rating_comment, "created_at": t.created_at, "tags": t.tags or [],
        "updated_at": t.updated_at, "status_words": STATUS_WORDS[t.status],
        "events": [event_dict(e) for e in t.events if e.public or not public_only],
    })
    if not public_only:
        data["sla"] = deadlines.view(t)
    return data


def for_customer(number: int, customer_id: int) -> dict:
    """A customer's own ticket with its public timeline; anyone else's is 'not found'."""
    with session_scope() as s:
        t = s.get(Ticket, number)
        if t is None or t.customer_id != customer_id:
            raise NotFound(f"There is no ticket #{number}.")
        return detail_dict(t, public_only=True)


def may_see(t: Ticket, agent_id: int, role: str, agents_see_all: bool) -> bool:
    return role == "admin" or agents_see_all or t.assignee_id in (None, agent_id)


def for_staff(number: int, agent_id: int, role: str, agents_see_all: bool) -> dict:
    with session_scope() as s:
        t = s.get(Ticket, number)
        if t is None or not may_see(t, agent_id, role, agents_see_all):
            raise NotFound(f"There is no ticket #{number} you can see.")
        return detail_dict(t, public_only=False)


def check_staff_access(number: int, agent_id: int, role: str, agents_see_all: bool) -> None:
    with session_scope() as s:
        t = s.get(Ticket, number)
        if t is None or not may_see(t, agent_id, role, agents_see_all):
            raise NotFound(f"There is no ticket #{number} you can see.")


def tag_filter(column, tag: str):
    """Rows whose JSON list of tags holds `tag` (tags are [a-z0-9_-], so the quoted text is unambiguous)."""
    return cast(column, String).like('%"' + tag.replace("_", "\\_") + '"%', escape="\\")


def search(*, customer_id: int | None = None, viewer: tuple[int, str, bool] | None = None, status=None,
           priority=None, category=None, assignee=None, escalated=None, since=None, until=None, q=None,
           tag: str | None = None, limit: int = 200) -> list[dict]:
    """Tickets matching the filters that the viewer may see (a customer, or (agent_id, role, see_all))."""
    query = select(Ticket).join(Customer, Ticket.customer_id == Customer.id)
    if customer_id is not None:
        query = query.where(Ticket.customer_id == customer_id)
    if viewer is not None:
        agent_id, role, see_all = viewer
        if role != "admin" and not see_all:
            query = query.where(or_(Ticket.assignee_id.is_(None), Ticket.assignee_id == agent_id))
    if status in TRANSITIONS:
        query = query.where(Ticket.status == status)
    elif status == "active":
        query = query.where(Ticket.status.in_(("new", "open", "pending")))
    if priority in PRIORITIES:
        query = query.where(Ticket.priority == priority)
    if category:
        query = query.where(Ticket.category == category)
    if assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif isinstance(assignee, int):
        query = query.where(Ticket.assignee_id == assignee)
    if escalated:
        query = query.where(Ticket.escalated.is_(True))
    if since:
        query = query.where(Ticket.created_at >= since)
    if until:
        query = query.where(Ticket.created_at < until)
    if tag:
        query = query.where(tag_filter(Ticket.tags, tag))
    if q and q.strip():
        term = q.strip().lstrip("#")
        like = f"%{term.lower()}%"
        conditions = [Ticket.subject.ilike(like), Ticket.description.ilike(like), Customer.email.ilike(like),
                      Customer.name.ilike(like)]
        if term.isdigit():
            conditions.append(cast(Ticket.id, String) == term)
        query = query.where(or_(*conditions))
    with session_scope() as s:
        rows = s.scalars(query.order_by(Ticket.id.desc()).limit(limit))
        found = [{**ticket_dict(t), "customer": t.customer.label, "created_at": t.created_at,
                  "updated_at": t.updated_at, "escalated": t.escalated, "assignee_id": t.assignee_id,
                  "tags": t.tags or [], **({"sla": deadlines.view(t), "due": sla.nearest_due(t.sla)}
                                           if viewer is not None else {})}
                 for t in rows]
    return found


def most_urgent_first(rows: list[dict]) -> list[dict]:
    """Staff's lists: the nearest running SLA due time first; work without one after, newest first."""
    return sorted(rows, key=lambda r: (r.get("due") is None, r.get("due") or datetime.min))
