"""Tickets: opened by the bot's form, by a failed handoff, and (later) by the portal and the console."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import session_scope
from .errors import NotFound, ServiceError, clean_text
from .models import CATEGORIES, Agent, Conversation, Customer, Message, Ticket, TicketEvent, utcnow

log = logging.getLogger("careregistry.tickets")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

REASON_WORDS = {
    "customer_request": "the customer asked for a person",
    "low_confidence": "the assistant could not answer",
    "repeated_fallback": "the assistant repeatedly did not understand",
    "bot_error": "the assistant was unavailable",
}


def clean_email(value) -> str:
    if not isinstance(value, str) or not EMAIL.match(value.strip()) or len(value) > 254:
        raise ServiceError("That does not look like an email address, e.g. name@example.com.")
    return value.strip().lower()


def ticket_dict(t: Ticket) -> dict:
    return {
        "number": t.id,
        "status": t.status,
        "subject": t.subject,
        "category": t.category,
        "priority": t.priority,
        "assignee": t.assignee.name if t.assignee else None,
    }


def _conversation(s: Session, conversation_id: int) -> Conversation:
    c = s.get(Conversation, conversation_id)
    if c is None:
        raise NotFound("There is no such conversation.")
    return c


def _subject(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "Support request"
    return first if len(first) <= 80 else first[:77] + "..."


def _open(s: Session, customer: Customer, conversation: Conversation | None, description: str,
          category: str, source: str, actor: str, subject: str | None = None, **fields) -> Ticket:
    t = Ticket(customer_id=customer.id, conversation_id=conversation.id if conversation else None,
               subject=subject or _subject(description), description=description, category=category,
               source=source, **fields)
    s.add(t)
    s.flush()
    s.add(TicketEvent(ticket_id=t.id, kind="created", actor=actor, data={"source": source}))
    _mail_customer(s, t, "ticket_created")
    log.info("ticket created number=%s source=%s category=%s", t.id, source, category)
    return t


def create_from_bot(conversation_id: int, description, category, email=None) -> dict:
    description = clean_text(description, 4000, "description")
    if category not in CATEGORIES:
        raise ServiceError(f"Unknown category; use one of: {', '.join(CATEGORIES)}.")
    with session_scope() as s:
        c = _conversation(s, conversation_id)
        if email and not c.customer.email:
            c.customer.email = clean_email(email)
        t = _open(s, c.customer, c, description, category, "bot", "assistant")
        return ticket_dict(t)


def create_from_transcript(s: Session, c: Conversation, reason: str) -> Ticket:
    """A ticket carrying the chat so far, for when no agent could take it."""
    lines = [f"{m.sender}: {m.text}" for m in
             s.scalars(select(Message).where(Message.conversation_id == c.id).order_by(Message.id))]
    customer_lines = [m.split(": ", 1)[1] for m in lines if m.startswith("customer: ")
                      and not m.startswith("customer: /")]
    subject_source = customer_lines[-1] if customer_lines else "Chat handed off"
    description = (f"Opened from a chat because {REASON_WORDS.get(reason, reason)} and no agent was online.\n\n"
                   + "\n".join(lines))
    t = _open(s, c.customer, c, description, "technical" if reason == "bot_error" else "account",
              "handoff", "assistant", subject=_subject(subject_source), escalated=True)
    return t


def status_for_conversation(conversation_id: int, number: int) -> dict:
    """A ticket's status, only if it belongs to the customer of this conversation."""
    with session_scope() as s:
        c = _conversation(s, conversation_id)
        t = s.get(Ticket, number)
        if t is None or t.customer_id != c.customer_id:
            raise NotFound(f"Ticket #{number} is not one of this customer's tickets.")
        return ticket_dict(t)


def customer_for_conversation(conversation_id: int) -> dict:
    with session_scope() as s:
        cu = _conversation(s, conversation_id).customer
        return {"email": cu.email, "name": cu.name, "registered": cu.password_hash is not None}


def set_contact_email(conversation_id: int, email) -> str:
    email = clean_email(email)
    with session_scope() as s:
        cu = _conversation(s, conversation_id).customer
        if cu.password_hash is None:  # a registered customer's address changes only in their account
            cu.email = email
    return email


# --- the lifecycle: new -> open -> pending -> resolved -> closed ------------------------------------

PRIORITIES = ("low", "normal", "high", "urgent")
# Which status an agent may set from which; a customer's reply reopens; closed is final.
TRANSITIONS = {
    "new": {"open", "pending", "resolved", "closed"},
    "open": {"pending", "resolved", "closed"},
    "pending": {"open", "resolved", "closed"},
    "resolved": {"open", "closed"},
    "closed": set(),
}
STATUS_WORDS = {"new": "New", "open": "Open", "pending": "Waiting for your reply", "resolved": "Resolved",
                "closed": "Closed"}


def _ticket(s: Session, number: int) -> Ticket:
    t = s.get(Ticket, number)
    if t is None:
        raise NotFound(f"There is no ticket #{number}.")
    return t


def _event(s: Session, t: Ticket, kind: str, actor: str, public: bool = True, **data) -> None:
    s.add(TicketEvent(ticket_id=t.id, kind=kind, actor=actor, public=public, data=data))
    t.updated_at = utcnow()


def _mail_customer(s: Session, t: Ticket, kind: str, **context) -> None:
    from . import mail

    customer = t.customer
    mail.queue(s, customer.email, kind, ticket=t, customer=customer, name=customer.name or "there",
               status_words=STATUS_WORDS, **context)


def open_ticket(customer_id: int, subject, description, category, priority: str = "normal", *,
                source: str, actor: str, conversation_id: int | None = None, parent_id: int | None = None) -> dict:
    """Open a ticket from the portal or the console; the customer gets its number by email."""
    description = clean_text(description, 8000, "description")
    subject = clean_text(subject, 200, "subject") if subject else _subject(description)
    if category not in CATEGORIES:
        raise ServiceError(f"Unknown category; use one of: {', '.join(CATEGORIES)}.")
    if priority not in PRIORITIES:
        raise ServiceError(f"Unknown priority; use one of: {', '.join(PRIORITIES)}.")
    with session_scope() as s:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise NotFound("There is no such customer.")
        t = _open(s, customer, s.get(Conversation, conversation_id) if conversation_id else None,
                  description, category, source, actor, subject=subject, priority=priority, parent_id=parent_id)
        return ticket_dict(t)


def assign(number: int, agent_id: int | None, actor: str) -> dict:
    from . import mail

    with session_scope() as s:
        t = _ticket(s, number)
        if t.status == "closed":
            raise ServiceError(f"Ticket #{number} is closed; open a follow-up instead.")
        agent = s.get(Agent, agent_id) if agent_id is not None else None
        if agent_id is not None and (agent is None or not agent.active):
            raise ServiceError("That agent does not exist or is not active.")
        if t.assignee_id == agent_id:
            return ticket_dict(t)
        kind = "reassigned" if t.assignee_id else "assigned"
        t.assignee_id = agent_id
        t.assignee = agent
        _event(s, t, kind if agent else "unassigned", actor, agent=agent.name if agent else None)
        if agent:
            if t.status == "new":
                _set_status(s, t, "open", actor, notify=False)
            _mail_customer(s, t, "agent_assigned", agent_name=agent.name)
            mail.queue(s, agent.email, "ticket_assigned", ticket=t, agent=agent, customer=t.customer)
        log.info("ticket %s number=%s agent=%s", kind, number, agent_id)
        return ticket_dict(t)


def release_agent_tickets(agent_id: int) -> list[int]:
    """Unassign a deactivated agent's open tickets, so they show in the unassigned queue again."""
    with session_scope() as s:
        rows = list(s.scalars(select(Ticket).where(Ticket.assignee_id == agent_id,
                                                   Ticket.status.in_(("new", "open", "pending")))))
        for t in rows:
            t.assignee_id, t.assignee = None, None
            _event(s, t, "unassigned", "system", public=False, reason="agent deactivated")
        return [t.id for t in rows]


def _set_status(s: Session, t: Ticket, status: str, actor: str, notify: bool = True) -> None:
    old = t.status
    t.status, t.status_changed_at, t.reminder_sent_at = status, utcnow(), None
    _event(s, t, "status_changed", actor, old=old, new=status)
    if notify:
        _mail_customer(s, t, "ticket_resolved" if status == "resolved" else "status_changed", old=old)


def set_status(number: int, status: str, actor: str) -> dict:
    if status not in TRANSITIONS:
        raise ServiceError(f"Unknown status; use one of: {', '.join(TRANSITIONS)}.")
    with session_scope() as s:
        t = _ticket(s, number)
        if status == t.status:
            return ticket_dict(t)
        if status not in TRANSITIONS[t.status]:
            raise ServiceError(f"A {t.status} ticket cannot become {status}.")
        _set_status(s, t, status, actor)
        return ticket_dict(t)


def set_priority(number: int, priority: str, actor: str) -> dict:
    if priority not in PRIORITIES:
        raise ServiceError(f"Unknown priority; use one of: {', '.join(PRIORITIES)}.")
    with session_scope() as s:
        t = _ticket(s, number)
        if t.status == "closed":
            raise ServiceError(f"Ticket #{number} is closed.")
        if t.priority != priority:
            _event(s, t, "priority_changed", actor, public=False, old=t.priority, new=priority)
            t.priority = priority
        return ticket_dict(t)


def agent_reply(number: int, author: str, text, internal: bool = False) -> None:
    """A public reply is emailed to the customer; an internal note is never shown to them."""
    text = clean_text(text, 8000, "reply")
    with session_scope() as s:
        t = _ticket(s, number)
        if t.status == "closed":
            raise ServiceError(f"Ticket #{number} is closed.")
        _event(s, t, "note" if internal else "reply", author, public=not internal, text=text)
        if not internal:
            if t.status == "new":
                _set_status(s, t, "open", author, notify=False)
            _mail_customer(s, t, "agent_reply", reply=text, author=author)


def customer_reply(number: int, customer_id: int, text) -> int:
    """The customer writes on their ticket. Reopens a resolved ticket; a closed one gets a follow-up.

    Returns the number of the ticket the reply landed on.
    """
    text = clean_text(text, 8000, "reply")
    with session_scope() as s:
        t = _ticket(s, number)
        if t.customer_id != customer_id:
            raise NotFound(f"There is no ticket #{number}.")
        if t.status == "closed":
            category, subject = t.category, f"Follow-up to #{t.id}: {t.subject}"[:200]
        else:
            _event(s, t, "reply", "customer", text=text)
            if t.status in ("resolved", "pending"):
                _set_status(s, t, "open", "customer", notify=False)
            return t.id
    return open_ticket(customer_id, subject, text, category, source="portal", actor="customer",
                       parent_id=number)["number"]


def rate(number: int, customer_id: int, rating, comment: str | None) -> None:
    if isinstance(rating, str) and rating.isdigit():
        rating = int(rating)
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ServiceError("The rating must be a whole number from 1 to 5.")
    comment = clean_text(comment, 2000, "comment") if comment and comment.strip() else None
    with session_scope() as s:
        t = _ticket(s, number)
        if t.customer_id != customer_id:
            raise NotFound(f"There is no ticket #{number}.")
        if t.status not in ("resolved", "closed"):
            raise ServiceError("You can rate a ticket once it is resolved.")
        t.rating, t.rating_comment = rating, comment
        _event(s, t, "rating", "customer", rating=rating, comment=comment)


def run_automations(now=None, resolved_close_days: float = 4, pending_remind_days: float = 3,
                    pending_resolve_days: float = 4) -> dict:
    """Resolved tickets that went quiet close; pending ones get one reminder, then are resolved.

    Each step is a conditional change, so running twice does nothing twice. Every handoff process runs
    this, and on PostgreSQL two runs overlap: each locks the tickets it takes and skips those the other
    holds, or both would close a ticket and mail its customer (SQLite, one writer at a time, ignores this).
    """
    now = now or utcnow()
    due = select(Ticket).with_for_update(skip_locked=True, of=Ticket)
    done = {"closed": 0, "reminded": 0, "resolved": 0}
    with session_scope() as s:
        for t in s.scalars(due.where(Ticket.status == "resolved",
                                     Ticket.status_changed_at <= now - timedelta(days=resolved_close_days))):
            t.status, t.status_changed_at = "closed", now
            _event(s, t, "status_changed", "system", old="resolved", new="closed", automatic=True)
            _mail_customer(s, t, "auto_closed")
            done["closed"] += 1
        for t in s.scalars(due.where(Ticket.status == "pending", Ticket.reminder_sent_at.is_(None),
                                     Ticket.status_changed_at <= now - timedelta(days=pending_remind_days))):
            t.reminder_sent_at = now
            _event(s, t, "reminder", "system", public=False)
            _mail_customer(s, t, "pending_reminder")
            done["reminded"] += 1
        for t in s.scalars(due.where(Ticket.status == "pending", Ticket.reminder_sent_at.is_not(None),
                                     Ticket.reminder_sent_at <= now - timedelta(days=pending_resolve_days))):
            t.status, t.status_changed_at = "resolved", now
            _event(s, t, "status_changed", "system", old="pending", new="resolved", automatic=True)
            _mail_customer(s, t, "ticket_resolved")
            done["resolved"] += 1
    if any(done.values()):
        log.info("ticket automations closed=%s reminded=%s resolved=%s", *done.values())
    return done


# --- what each person may see -----------------------------------------------------------------------

def event_dict(e: TicketEvent) -> dict:
    return {"kind": e.kind, "actor": e.actor, "public": e.public, "data": e.data or {},
            "created_at": e.created_at}


def detail_dict(t: Ticket, public_only: bool) -> dict:
    data = ticket_dict(t)
    data.update({
        "description": t.description, "source": t.source, "escalated": t.escalated,
        "customer": {"id": t.customer.id, "label": t.customer.label, "email": t.customer.email},
        "assignee_id": t.assignee_id, "conversation_id": t.conversation_id, "parent_id": t.parent_id,
        "rating": t.rating, "rating_comment": t.rating_comment, "created_at": t.created_at,
        "updated_at": t.updated_at, "status_words": STATUS_WORDS[t.status],
        "events": [event_dict(e) for e in t.events if e.public or not public_only],
    })
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


def search(*, customer_id: int | None = None, viewer: tuple[int, str, bool] | None = None, status=None,
           priority=None, category=None, assignee=None, escalated=None, since=None, until=None, q=None,
           limit: int = 200) -> list[dict]:
    """Tickets matching the filters that the viewer may see (a customer, or (agent_id, role, see_all))."""
    from sqlalchemy import String, cast, or_

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
    if category in CATEGORIES:
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
        return [{**ticket_dict(t), "customer": t.customer.label, "created_at": t.created_at,
                 "updated_at": t.updated_at, "escalated": t.escalated, "assignee_id": t.assignee_id}
                for t in rows]
