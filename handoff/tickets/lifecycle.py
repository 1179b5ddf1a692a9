"""The ticket lifecycle: new -> open -> pending -> resolved -> closed, each step a named transition.

Tickets are opened by the bot's form, by a handoff no agent could take, by the portal and the console.
Every transition writes its event to the ticket's history, and queues the customer's mail, in one transaction.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.db import get_or_raise, session_scope
from handoff.errors import Forbidden, NotFound, ServiceError, clean_email, clean_tags, clean_text
from handoff.mail import outbox
from handoff.models import Agent, Conversation, Customer, Message, Team, Ticket, TicketEvent, utcnow
from handoff.routing import catalog, claims, corrections, policy, selector, triage
from handoff.routing import queue as routing_queue
from handoff.tickets import attachments, deadlines, from_chat

log = logging.getLogger("careregistry.tickets")
REASON_WORDS = {
    "customer_request": "the customer asked for a person",
    "low_confidence": "the assistant could not answer",
    "repeated_fallback": "the assistant repeatedly did not understand",
    "bot_error": "the assistant was unavailable",
}
# A chat asking for a ticket again within this time gets the one it has: a second press of "Open a
# ticket" (the first answer was slow, or the bot was down) or a retried request must not open two.
REPEAT_WINDOW = timedelta(minutes=10)


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
    return get_or_raise(s, Conversation, conversation_id, "There is no such conversation.")


def _subject(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "Support request"
    return first if len(first) <= 80 else first[:77] + "..."


def _open(s: Session, customer: Customer, conversation: Conversation | None, description: str,
          category: str | None, source: str, actor: str, subject: str | None = None, *, topic: str | None = None,
          fallback: str = "account", said: str | None = None, **fields) -> Ticket:
    """`category` None: triage predicts it (from `topic`, the FAQ the bot matched, or the words), else `fallback`.
    `said`: what triage reads when the description is more than the customer's words (a chat's transcript)."""
    if fields.get("priority") is None:  # nobody chose one: triage does, and says why
        found = triage.predict(s, said or f"{subject or ''}\n{description}", topic=topic, chosen=category,
                               chooser="agent" if source == "agent" else "customer",
                               returning=triage.returning(s, customer.id, utcnow(), parent_id=fields.get("parent_id")))
        if found.category is None:  # the fallback is the cues' answer too: corrections measure what was shown
            found.category, found.category_reason = fallback, "nothing in it pointed at a category"
            if found.cues.get("category") is None:
                found.cues["category"] = fallback
        category = found.category
        fields["priority"], fields["triage"] = found.priority, found.as_dict()
    category = category or fallback
    t = Ticket(customer_id=customer.id, conversation_id=conversation.id if conversation else None,
               subject=subject or _subject(description), description=description, category=category,
               source=source, team_id=catalog.team_of(s, category), **fields)
    s.add(t)
    s.flush()
    deadlines.opened(s, t)
    s.add(TicketEvent(ticket_id=t.id, kind="created", actor=actor, data={"source": source}))
    mail_customer(s, t, "ticket_created")
    log.info("ticket created number=%s source=%s category=%s", t.id, source, category)
    return t


def _repeat(s: Session, c: Conversation, source: str, description: str | None = None) -> Ticket | None:
    """The ticket this chat opened from `source` moments ago and still open, if any.

    Locks the conversation's row first (PostgreSQL), so two requests at once see each other's ticket;
    SQLite takes writers one at a time anyway.
    """
    s.refresh(c, with_for_update=True)
    query = select(Ticket).where(Ticket.conversation_id == c.id, Ticket.source == source,
                                 Ticket.status.in_(("new", "open", "pending")),
                                 Ticket.created_at >= utcnow() - REPEAT_WINDOW)
    if description is not None:
        query = query.where(Ticket.description == description)
    t = s.scalars(query.order_by(Ticket.id.desc())).first()
    if t is not None:
        log.info("ticket request repeated number=%s conversation=%s source=%s", t.id, c.id, source)
    return t


def create_from_bot(conversation_id: int, description, category, email=None) -> dict:
    """The bot's ticket form; the same description from the same chat again returns the ticket it opened."""
    description = clean_text(description, 4000, "description")
    catalog.require_category(category)
    email = clean_email(email) if email else None
    with session_scope() as s:
        c = _conversation(s, conversation_id)
        t = _repeat(s, c, "bot", description)
        if email and not c.customer.email:
            c.customer.email = email
        if t is None:
            t = _open(s, c.customer, c, description, category, "bot", "assistant")
        result = ticket_dict(t)
    return route(result["number"]) or result


def create_from_transcript(s: Session, c: Conversation, reason: str) -> Ticket:
    """A ticket carrying the chat so far, for when no agent could take it (once: see REPEAT_WINDOW)."""
    existing = _repeat(s, c, "handoff")
    if existing is not None:
        return existing
    said = [{"sender": m.sender, "text": m.text} for m in
            s.scalars(select(Message).where(Message.conversation_id == c.id).order_by(Message.id))]
    lines = [f"{m['sender']}: {m['text']}" for m in said]
    description = (f"Opened from a chat because {REASON_WORDS.get(reason, reason)} and no agent was online.\n\n"
                   + "\n".join(lines))
    t = _open(s, c.customer, c, description, None, "handoff", "assistant",
              subject=from_chat.subject(said) if from_chat.need_lines(said) else "Chat handed off", escalated=True,
              topic=routing_queue.topics(s, [c.id]).get(c.id),
              fallback="technical" if reason == "bot_error" else "account",
              said="\n".join(from_chat.need_lines(said) or from_chat.customer_lines(said)))
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
    return get_or_raise(s, Ticket, number, f"There is no ticket #{number}.")


def add_event(s: Session, t: Ticket, kind: str, actor: str, public: bool = True, **data) -> TicketEvent:
    event = TicketEvent(ticket_id=t.id, kind=kind, actor=actor, public=public, data=data)
    s.add(event)
    t.updated_at = utcnow()
    return event


def mail_customer(s: Session, t: Ticket, kind: str, **context) -> None:
    customer = t.customer
    outbox.queue(s, customer.email, kind, ticket=t, customer=customer, name=customer.name or "there",
                 status_words=STATUS_WORDS, thread=t, **context)


def open_ticket(customer_id: int, subject, description, category, priority: str | None = None, *,
                source: str, actor: str, conversation_id: int | None = None, parent_id: int | None = None) -> dict:
    """Open a ticket from the portal or the console; the customer gets its number by email."""
    description = clean_text(description, 8000, "description")
    subject = clean_text(subject, 200, "subject", one_line=True) if subject else _subject(description)
    catalog.require_category(category)
    if priority is not None and priority not in PRIORITIES:
        raise ServiceError(f"Unknown priority; use one of: {', '.join(PRIORITIES)}.")
    with session_scope() as s:
        customer = get_or_raise(s, Customer, customer_id, "There is no such customer.")
        t = _open(s, customer, s.get(Conversation, conversation_id) if conversation_id else None,
                  description, category, source, actor, subject=subject, priority=priority, parent_id=parent_id)
        result = ticket_dict(t)
    if source == "agent":  # the agent who opened it takes it
        return result
    return route(result["number"]) or result


def assign(number: int, agent_id: int | None, actor: str) -> dict:
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
        _assigned(s, t, agent, kind, actor)
        return ticket_dict(t)


def _assigned(s: Session, t: Ticket, agent: Agent | None, kind: str, actor: str, **data) -> None:
    """The assignment's event and mails, in the caller's transaction."""
    add_event(s, t, kind if agent else "unassigned", actor, agent=agent.name if agent else None, **data)
    if agent:
        if t.status == "new":
            _set_status(s, t, "open", actor, notify=False)
        # Assign then reassign within the hold: the customer hears once, of the agent it ended with.
        mail_customer(s, t, "agent_assigned", agent_name=agent.name, coalesce_key=f"ticket-agent:{t.id}",
                      hold=timedelta(seconds=assignment_mail_delay()))
        outbox.queue(s, agent.email, "ticket_assigned", ticket=t, agent=agent, customer=t.customer)
    log.info("ticket %s number=%s agent=%s", kind, t.id, agent.id if agent else None)


ROUTE_RACES = 3


def route(number: int) -> dict | None:
    """Give an unassigned ticket to the best online agent with room under their ticket capacity (its
    category's team, if it has one), or leave it in the team's unassigned queue. None when it waits."""
    if policy.current.mode != "auto":
        return None
    for _ in range(ROUTE_RACES):
        now = utcnow()
        try:
            with session_scope() as s:
                t = _ticket(s, number)
                if t.assignee_id is not None or t.status not in claims.OPEN_TICKET:
                    return None
                waited = (now - t.created_at).total_seconds()
                best = selector.choose(claims.ready(s, now, tickets=True), t.category,
                                       skill_exists=t.category in claims.skilled_somewhere(s), waited_s=waited,
                                       skill_wait=policy.current.skill_wait, team_id=t.team_id)
                if best is None:
                    return None
                claims.claim_ticket(s, number, best, now)
                s.expire(t)
                agent = s.get(Agent, best.id)
                _assigned(s, t, agent, "assigned", "routing", reason="auto")
                return ticket_dict(t)
        except claims.Lost:
            continue
    return None


def route_waiting(limit: int = 50) -> int:
    """The scheduler's pass over the unassigned queue, oldest first: an agent may have freed up."""
    if policy.current.mode != "auto":
        return 0
    with session_scope() as s:
        numbers = list(s.scalars(select(Ticket.id).where(Ticket.assignee_id.is_(None),
                                                         Ticket.status.in_(claims.OPEN_TICKET))
                                 .order_by(Ticket.created_at).limit(limit)))
    return sum(route(n) is not None for n in numbers)


def transfer(number: int, actor: str, *, to_agent=None, to_team=None, note=None,
             by: tuple[int, bool] | None = None) -> dict:
    """Pass a ticket to another agent or to a team's unassigned queue, with a note only staff see.

    `by` (agent id, is admin): an agent passes on their own tickets and unassigned ones; an admin any."""
    note = clean_text(note, 2000, "note") if isinstance(note, str) and note.strip() else None
    if (to_agent in (None, "")) == (to_team in (None, "")):
        raise ServiceError("Transfer to one agent or one team.")
    with session_scope() as s:
        t = _ticket(s, number)
        if t.status == "closed":
            raise ServiceError(f"Ticket #{number} is closed.")
        if by is not None and not by[1] and t.assignee_id not in (None, by[0]):
            raise Forbidden(f"Ticket #{number} is another agent's; they or an admin may transfer it.")
        if to_agent not in (None, ""):
            agent = s.get(Agent, int(to_agent)) if str(to_agent).isdigit() else None
            if agent is None or not agent.active:
                raise ServiceError("That agent does not exist or is not active.")
            if t.assignee_id == agent.id:
                raise ServiceError(f"Ticket #{number} is already {agent.name}'s.")
            kind = "reassigned" if t.assignee_id else "assigned"
            t.assignee_id, t.assignee = agent.id, agent
            if agent.team_id:
                t.team_id = agent.team_id
            _assigned(s, t, agent, kind, actor, transfer=True)
            where = agent.name
        else:
            team = s.get(Team, int(to_team)) if str(to_team).isdigit() else None
            if team is None:
                raise ServiceError("There is no such team.")
            t.team_id, t.assignee_id, t.assignee = team.id, None, None
            deadlines.retarget(s, t)
            add_event(s, t, "unassigned", actor, public=False, team=team.name)
            where = f"the {team.name} team"
        add_event(s, t, "note", actor, public=False, text=f"Transferred to {where}." + (f" {note}" if note else ""))
        log.info("ticket transferred number=%s to_agent=%s to_team=%s", number, to_agent, to_team)
        result = ticket_dict(t)
    if to_team not in (None, ""):
        return route(number) or result
    return result


def assignment_mail_delay() -> float:
    return current_app.config.get("ASSIGNMENT_MAIL_DELAY", 60) if has_app_context() else 60


def release_agent_tickets(agent_id: int) -> list[int]:
    """Unassign a deactivated agent's open tickets, so they show in the unassigned queue again."""
    with session_scope() as s:
        rows = list(s.scalars(select(Ticket).where(Ticket.assignee_id == agent_id,
                                                   Ticket.status.in_(("new", "open", "pending")))))
        for t in rows:
            t.assignee_id, t.assignee = None, None
            add_event(s, t, "unassigned", "system", public=False, reason="agent deactivated")
        return [t.id for t in rows]


def _set_status(s: Session, t: Ticket, status: str, actor: str, notify: bool = True) -> None:
    old = t.status
    t.status, t.status_changed_at, t.reminder_sent_at = status, utcnow(), None
    add_event(s, t, "status_changed", actor, old=old, new=status)
    deadlines.status_changed(s, t)
    if notify:
        mail_customer(s, t, "ticket_resolved" if status == "resolved" else "status_changed", old=old)


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
            add_event(s, t, "priority_changed", actor, public=False, old=t.priority, new=priority)
            t.priority = priority
            deadlines.retarget(s, t)
        return ticket_dict(t)


def correct_triage(number: int, agent_id: int | None, actor: str, *, priority=None, category=None,
                   confirm: bool = False) -> dict:
    """An agent's one click on a ticket's triage: the right priority or category (applied, on the timeline,
    and recorded for the organisation's model), or a confirmation that the prediction was right."""
    with session_scope() as s:
        t = _ticket(s, number)
        if t.status == "closed":
            raise ServiceError(f"Ticket #{number} is closed.")
        priority, category = corrections.check(s, priority, category, confirm)
        raised = priority is not None and priority != t.priority
        if raised:
            add_event(s, t, "priority_changed", actor, public=False, old=t.priority, new=priority, correction=True)
            t.priority = priority
        moved = category is not None and category != t.category
        if moved:
            add_event(s, t, "category_changed", actor, public=False, old=t.category, new=category, correction=True)
            t.category, t.team_id = category, catalog.team_of(s, category)
        if confirm and priority is None and category is None:
            add_event(s, t, "triage_confirmed", actor, public=False, priority=t.priority, category=t.category)
        if raised or moved:
            deadlines.retarget(s, t)  # another priority or team: other SLA targets
        corrections.record(s, kind="ticket", item_id=t.id, text=f"{t.subject}\n{t.description}", triage=t.triage,
                           priority=t.priority, category=t.category, agent_id=agent_id)
        result = ticket_dict(t)
        waiting = moved and t.assignee_id is None
    return (route(number) or result) if waiting else result


def agent_reply(number: int, author: str, text, internal: bool = False, uploads: list | None = None) -> None:
    """A public reply is emailed to the customer, with its files; an internal note is never shown to them."""
    uploads = attachments.check(uploads or [])
    text = clean_text(text, 8000, "reply")
    with session_scope() as s:
        t = _ticket(s, number)
        if t.status == "closed":
            raise ServiceError(f"Ticket #{number} is closed.")
        event = add_event(s, t, "note" if internal else "reply", author, public=not internal, text=text)
        kept = []
        if uploads:
            s.flush()
            kept = attachments.store(s, t, uploads, author, public=not internal)
            attachments.attach_to_event(s, event, kept)
        if not internal:
            deadlines.agent_answered(s, t)
            if t.status == "new":
                _set_status(s, t, "open", author, notify=False)
            mail_customer(s, t, "agent_reply", reply=text, author=author, files=attachments.for_mail(kept))


def customer_reply(number: int, customer_id: int, text, uploads: list | None = None) -> int:
    """The customer writes on their ticket. Reopens a resolved ticket; a closed one gets a follow-up.

    Returns the number of the ticket the reply landed on. Files are checked before anything changes.
    """
    uploads = attachments.check(uploads or [])
    text = clean_text(text, 8000, "reply") if (isinstance(text, str) and text.strip()) or not uploads \
        else "Attached: " + ", ".join(u.name for u in uploads)
    with session_scope() as s:
        t = _ticket(s, number)
        if t.customer_id != customer_id:
            raise NotFound(f"There is no ticket #{number}.")
        return reply_in(s, t, text, source="portal", uploads=uploads).id


def reply_in(s: Session, t: Ticket, text: str, *, source: str, uploads: list | None = None, **data) -> Ticket:
    """A customer's reply in the caller's transaction (the portal's, or a mail's with its record).

    Reopens a resolved or pending ticket; on a closed one it opens a follow-up, which it returns.
    `data` is kept with the reply (e.g. the mail's full text for staff); `uploads` must be checked already.
    """
    if t.status == "closed":
        subject = f"Follow-up to #{t.id}: {t.subject}"[:200]
        follow_up = _open(s, t.customer, None, text, t.category, source, "customer", subject=subject,
                          parent_id=t.id)
        _attach_to_created(s, follow_up, uploads)
        return follow_up
    extra = {"via": source, **data} if source != "portal" else data
    event = add_event(s, t, "reply", "customer", text=text, **extra)
    deadlines.customer_wrote(s, t)
    if uploads:
        s.flush()
        attachments.attach_to_event(s, event, attachments.store(s, t, uploads, "customer"))
    if t.status in ("resolved", "pending"):
        _set_status(s, t, "open", "customer", notify=False)
    return t


def open_in(s: Session, customer: Customer, description: str, category: str | None, *, source: str,
            subject: str | None = None, uploads: list | None = None, **data) -> Ticket:
    """A ticket the customer opened themselves (e.g. by mail), in the caller's transaction. Triage sets its
    priority and, when `category` is None, its category; the routing sweep of the serving process assigns
    it (`route` after the commit does it now)."""
    if category is not None:
        catalog.require_category(category, s)
    t = _open(s, customer, None, description, category, source, "customer", subject=subject)
    _attach_to_created(s, t, uploads, **data)
    return t


def _attach_to_created(s: Session, t: Ticket, uploads: list | None, **data) -> None:
    if not uploads and not data:
        return
    created = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.kind == "created")).first()
    if data:
        created.data = {**(created.data or {}), **data}
    if uploads:
        attachments.attach_to_event(s, created, attachments.store(s, t, uploads, "customer"))


def reply_token(number: int) -> str:
    with session_scope() as s:
        return _ticket(s, number).reply_token


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
        add_event(s, t, "rating", "customer", rating=rating, comment=comment)


def set_tags(number: int, tags, actor: str) -> list[str]:
    """Label a ticket (internal: customers never see tags)."""
    tags = clean_tags(tags)
    with session_scope() as s:
        t = _ticket(s, number)
        if (t.tags or []) != tags:
            add_event(s, t, "tags_changed", actor, public=False, old=t.tags or [], new=tags)
            t.tags = tags
        return tags
