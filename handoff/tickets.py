"""Tickets: opened by the bot's form, by a failed handoff, and (later) by the portal and the console."""
from __future__ import annotations

import logging
import re

from sqlalchemy.orm import Session

from .db import session_scope
from .errors import NotFound, ServiceError, clean_text
from .models import CATEGORIES, Conversation, Customer, Message, Ticket, TicketEvent

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
          category: str, source: str, actor: str) -> Ticket:
    t = Ticket(customer_id=customer.id, conversation_id=conversation.id if conversation else None,
               subject=_subject(description), description=description, category=category, source=source)
    s.add(t)
    s.flush()
    s.add(TicketEvent(ticket_id=t.id, kind="created", actor=actor, data={"source": source}))
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
    lines = [f"{m.sender}: {m.text}" for m in s.query(Message).filter_by(conversation_id=c.id).order_by(Message.id)]
    customer_lines = [m.split(": ", 1)[1] for m in lines if m.startswith("customer: ")
                      and not m.startswith("customer: /")]
    subject_source = customer_lines[-1] if customer_lines else "Chat handed off"
    description = (f"Opened from a chat because {REASON_WORDS.get(reason, reason)} and no agent was online.\n\n"
                   + "\n".join(lines))
    t = _open(s, c.customer, c, description, "technical" if reason == "bot_error" else "account",
              "handoff", "assistant")
    t.subject = _subject(subject_source)
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


def set_contact_email(conversation_id: int, email) -> None:
    email = clean_email(email)
    with session_scope() as s:
        cu = _conversation(s, conversation_id).customer
        if cu.password_hash is None:  # a registered customer's address changes only in their account
            cu.email = email
