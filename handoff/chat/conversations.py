"""Conversations and their messages: the named transitions between bot, queue and agent.

Every function here commits its change before anything is published, so a message that a client sees
acknowledged or relayed is already stored.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff import realtime
from handoff.chat import assignment, customer_presence, deadlines
from handoff.chat.assignment import publish_queue
from handoff.db import Prepared, connection_scope, get_or_raise, session_scope
from handoff.errors import Conflict, Forbidden, NotFound, ServiceError, clean_email, clean_int, clean_tags, clean_text
from handoff.knowledge.settings import welcome
from handoff.mail import outbox
from handoff.models import HANDOFF_REASONS, Agent, Conversation, Customer, Handoff, Message, Team, Ticket, utcnow
from handoff.routing import calendars, catalog, claims, corrections, policy, selector, triage
from handoff.routing import queue as routing_queue
from handoff.tickets import attachments, from_chat, lifecycle
from handoff.tickets.lifecycle import create_from_transcript

log = logging.getLogger("careregistry.conversations")


def iso(dt) -> str | None:
    return dt.isoformat(timespec="milliseconds") + "Z" if dt else None


def initials(name: str | None) -> str:
    parts = [p for p in (name or "").replace("-", " ").split() if p[:1].isalpha()]
    return ("".join(p[0] for p in parts[:1] + parts[1:][-1:])).upper() or "?"


def author(name: str | None) -> dict | None:
    """Who wrote an agent's message, as customers and colleagues see it: the name and its initials."""
    return {"name": name, "initials": initials(name)} if name else None


def message_dict(m: Message) -> dict:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "sender": m.sender,
        "text": m.text,
        "buttons": m.buttons or [],
        "created_at": iso(m.created_at),
        "agent": author(m.agent.name) if m.sender == "agent" and m.agent else None,
        "internal": bool(m.internal),
        "attachments": [attachments.summary(a) for a in m.attachments],
    }


def summary_dict(s: Session, c: Conversation) -> dict:
    last = s.scalar(
        select(Message.text)
        .where(Message.conversation_id == c.id)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return {
        "id": c.id,
        "status": c.status,
        "handoff_reason": c.handoff_reason,
        "queued_at": iso(c.queued_at),
        "topic": c.topic,
        "priority": c.priority,
        "triage": c.triage,
        "offered_to": c.offered_to_id,
        "customer": {"name": c.customer.name, "email": c.customer.email, "label": c.customer.label},
        "agent": {"name": c.agent.name} if c.agent else None,
        "last_message": last or "",
        "rating": {"score": c.rating, "comment": c.rating_comment} if c.rating else None,
        "tags": c.tags or [],
        "sla": deadlines.view(c),
        "customer_left_at": customer_presence.left_at(c) if c.status == "agent" else None,
        # The chat's latest ticket, for the {ticket_number} of canned replies.
        "ticket_number": s.scalar(select(func.max(Ticket.id)).where(Ticket.conversation_id == c.id)),
    }


def conversation_dict(s: Session, c: Conversation, *, staff: bool = True) -> dict:
    """The chat and its messages; staff-only notes only for staff."""
    data = summary_dict(s, c)
    data["messages"] = [message_dict(m) for m in c.messages if staff or not m.internal]
    return data


def _get(s: Session, conversation_id: int) -> Conversation:
    return get_or_raise(s, Conversation, conversation_id, "There is no such conversation.")


# --- customers' side -------------------------------------------------------------------------------


def open_for_visitor(visitor_id: str) -> int:
    """The anonymous visitor's conversation, creating the visitor and the conversation on first contact.

    A visitor id only ever opens an anonymous visitor's own chats, never an account's: it is a value
    the browser presents, and anyone who learns it presents it too. Chats that joined an account are
    reached with the account's log-in session.
    """
    return _with_visitor(visitor_id, lambda s, customer: _latest_conversation(s, customer).id)


def _with_visitor(visitor_id: str, then):
    """`then(session, customer)` on the visitor's customer record, in the transaction that finds or makes it."""
    for _ in range(2):  # two tabs connecting at once: the loser of the insert race reads the winner's row
        try:
            with session_scope() as s:
                customer = s.scalar(select(Customer).where(Customer.visitor_id == visitor_id))
                if customer is None:
                    customer = Customer(visitor_id=visitor_id)
                    s.add(customer)
                    s.flush()
                if customer.password_hash is not None:
                    raise Forbidden("Please log in to continue this conversation.")
                return then(s, customer)
        except IntegrityError:
            continue
    raise ServiceError("Could not start the conversation; please reload the page.")


def open_for_customer(customer_id: int) -> int:
    with session_scope() as s:
        customer = get_or_raise(s, Customer, customer_id, "There is no such customer.")
        return _latest_conversation(s, customer).id


def join(visitor_id: str | None, customer_id: int | None, page_url, user_agent: str | None) -> dict:
    """A widget connecting, in one transaction: the account's or visitor's latest conversation (made on
    first contact), where and in which browser the widget is open, and the history it shows. A burst of
    widgets opening at once costs one transaction each, not five."""
    page, agent = _visit(page_url, user_agent)

    def joined(s: Session, customer: Customer) -> tuple[dict, bool]:
        c = _latest_conversation(s, customer, fresh=False)
        if c is None:
            # First contact: the conversation is made with its visit and this socket counted, and it has no
            # history to read. Three statements fewer than a returning widget's, and none of them an
            # ORM update: a burst of new visitors holds the loop about a third less each (9.0 -> 5.7 ms).
            c = Conversation(customer_id=customer.id, status="bot", page_url=page, user_agent=agent,
                             customer_sockets=1)
            s.add(c)
            s.flush()
            return _history(s, c, messages=[]), False
        if (c.page_url, c.user_agent) != (page, agent):  # a widget back on the same page: nothing to write
            _note_visit(s, c.id, page_url, user_agent)
        back = customer_presence.arrived(s, c)
        return _history(s, c), back

    if customer_id is not None:
        with session_scope() as s:
            history, back = joined(s, get_or_raise(s, Customer, customer_id, "There is no such customer."))
    else:
        history, back = _with_visitor(visitor_id, joined)
    if back:
        customer_presence.back(history["conversation_id"])
    return history


def close_chat_sockets(conversation_ids: list[int]) -> None:
    """The sockets on these chats stop receiving them, in every process (through the message queue).

    For a visitor's chats that joined an account, and an account's chats when its sessions end. Those
    sockets' posts are refused by post_customer_message's owner check; a reload connects afresh.
    """
    for cid in conversation_ids:
        realtime.close_chat_room(cid)


def ids_of_customer(customer_id: int) -> list[int]:
    with session_scope() as s:
        return list(s.scalars(select(Conversation.id).where(Conversation.customer_id == customer_id)))


def _latest_conversation(s: Session, customer: Customer, fresh: bool = True) -> Conversation | None:
    """The customer's latest conversation; with fresh, one is made when they have none (else None)."""
    c = s.scalar(
        select(Conversation)
        .where(Conversation.customer_id == customer.id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if c is None and fresh:
        c = Conversation(customer_id=customer.id, status="bot")
        s.add(c)
        s.flush()
    return c


def history(conversation_id: int) -> dict:
    with session_scope() as s:
        return _history(s, _get(s, conversation_id))


def _history(s: Session, c: Conversation, messages: list | None = None) -> dict:
    """What a widget shows of the chat. messages: given when known (a chat made just now has none)."""
    return {
        "conversation_id": c.id,
        "customer_id": c.customer_id,
        "status": c.status,
        "agent": {"name": c.agent.name} if c.agent_id is not None and c.agent else None,
        "messages": messages if messages is not None else [message_dict(m) for m in c.messages if not m.internal],
        # An agent resolved it: the widget asks for a rating until the customer gives one.
        "can_rate": c.status == "resolved" and c.resolved_at is not None,
        "rating": {"score": c.rating, "comment": c.rating_comment} if c.rating else None,
        "welcome": welcome(s),
        # While queued: the customer's place in line, as conversation_status carries it.
        "queue": assignment.queue_position(c.id) if c.status == "queued" else None,
    }


def status_of(conversation_id: int) -> str:
    with connection_scope() as conn:
        row = conn.execute(_OWNER, {"cid": conversation_id}).first()
    if row is None:
        raise NotFound("There is no such conversation.")
    return row.status


def _store(s: Session, conversation_id: int, sender: str, text: str, *, buttons=None,
           client_msg_id: str | None = None, agent_id: int | None = None) -> Message:
    m = Message(conversation_id=conversation_id, sender=sender, text=text, buttons=buttons or [],
                client_msg_id=client_msg_id, agent_id=agent_id)
    s.add(m)
    s.flush()
    return m


def _existing(conversation_id: int, client_msg_id: str | None) -> dict | None:
    if client_msg_id is None:
        return None
    with session_scope() as s:
        m = s.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                           Message.client_msg_id == client_msg_id))
        return message_dict(m) if m else None


_messages = Message.__table__
_conversations = Conversation.__table__
# Built once: constructing statements per message cost more CPU than SQLite itself. The three a chat
# message costs are run on the driver's cursor (db.Prepared).
_INSERT_MESSAGE = Prepared(_messages.insert().values(
    {name: bindparam(name) for name in ("conversation_id", "sender", "text", "buttons", "client_msg_id",
                                        "agent_id", "created_at")} | {"internal": False})
    .returning(_messages.c.id))
_OWNER = select(_conversations.c.agent_id, _conversations.c.status).where(_conversations.c.id == bindparam("cid"))
_agents = Agent.__table__
# The conversation's owner and status with its agent's name, in the one query an agent's message costs.
_AGENT_OWNER = Prepared(select(_conversations.c.agent_id, _conversations.c.status, _agents.c.name)
                        .outerjoin(_agents, _agents.c.id == _conversations.c.agent_id)
                        .where(_conversations.c.id == bindparam("cid")))
_customers = Customer.__table__
_CUSTOMER_OWNER = Prepared(select(_conversations.c.status, _conversations.c.customer_id, _customers.c.session_version)
                           .join(_customers, _customers.c.id == _conversations.c.customer_id)
                           .where(_conversations.c.id == bindparam("cid")))


def _insert_message(conn, conversation_id: int, sender: str, text: str, client_msg_id: str | None,
                    agent_id: int | None = None, buttons: list | None = None, agent_name: str | None = None) -> dict:
    """Store one message on a bare connection (the hot path: a chat message costs one INSERT)."""
    created, buttons = utcnow(), buttons or []
    [(new_id,)] = _INSERT_MESSAGE.execute(conn, {
        "conversation_id": conversation_id, "sender": sender, "text": text, "buttons": buttons,
        "client_msg_id": client_msg_id, "agent_id": agent_id, "created_at": created})
    return {"id": new_id, "conversation_id": conversation_id, "sender": sender, "text": text, "buttons": buttons,
            "created_at": iso(created), "agent": author(agent_name)}


def post_customer_message(conversation_id: int, text: str, client_msg_id: str | None,
                          owner: tuple[int, int | None] | None = None,
                          stored: Callable[[dict, str], None] | None = None) -> tuple[dict, bool, str]:
    """Store a customer's message. Returns (message, newly stored, conversation status after).

    With owner (customer id, session version or None for a visitor), only while the conversation is
    still that customer's (a visitor's chat that joined an account is no longer the visitor's) and the
    log-in session the socket was opened with has not ended. A client_msg_id seen before returns the
    stored message: the unique constraint decides, so two sockets re-sending at once still store it once.
    `stored(message, status)` runs once a new message is committed, before it is published: the chat
    starts the bot's answer there, so Rasa hears the question before the sockets are written to.
    """
    try:
        with connection_scope() as conn:
            rows = _CUSTOMER_OWNER.execute(conn, {"cid": conversation_id})
            if not rows:
                raise NotFound("There is no such conversation.")
            [(status, customer_id, session_version)] = rows
            if owner is not None and customer_id != owner[0]:
                raise Forbidden("This conversation has moved to an account; please reload the page.")
            if owner is not None and owner[1] is not None and session_version != owner[1]:
                raise Forbidden("Your session has ended; please log in again.")
            result = _insert_message(conn, conversation_id, "customer", text, client_msg_id)
            reopened = status == "resolved"
            if reopened:  # writing again after a resolved chat starts over with the bot
                conn.execute(update(_conversations).where(_conversations.c.id == conversation_id)
                             .values(status="bot", agent_id=None, handoff_reason=None, updated_at=utcnow()))
                status = "bot"
    except IntegrityError:
        again = _existing(conversation_id, client_msg_id)
        if again is None:
            raise
        return again, False, status_of(conversation_id)
    if stored is not None:
        stored(result, status)
    realtime.publish_message(result)
    if reopened:
        realtime.publish_status(conversation_id, "bot", None)
    if status == "queued":
        publish_queue()
    return result, True, status


def post_bot_message(conversation_id: int, text: str, buttons=None, sender: str = "bot") -> dict:
    try:
        with connection_scope() as conn:  # the foreign key, not a query first, says the conversation exists
            result = _insert_message(conn, conversation_id, sender, text, None, buttons=buttons)
    except IntegrityError:
        raise NotFound("There is no such conversation.") from None
    realtime.publish_message(result)
    return result


def post_system_message(conversation_id: int, text: str, buttons=None) -> dict:
    return post_bot_message(conversation_id, text, buttons, sender="system")


# --- handoff transitions ---------------------------------------------------------------------------


def online_agent_count(s: Session) -> int:
    """Agents who may take a chat now: chosen online with a live console (broadcast: any open console)."""
    if policy.current.mode == "broadcast":
        return s.scalar(select(func.count()).select_from(Agent)
                        .where(Agent.active.is_(True), Agent.connections > 0)) or 0
    return assignment.online_count(s)


def request_handoff(conversation_id: int, reason: str) -> dict:
    """Hand the conversation to people: queue it when an agent is online, otherwise open a ticket.

    Queued, it is offered at once to the best agent (ROUTING_MODE=auto) or shown to every agent. Outside
    the business hours of the topic's team (or the desk's) it is neither: the chat stays with the bot,
    which offers a ticket, and the widget hears when a person is back ("closed": {"back_at", "words"}).
    """
    if reason not in HANDOFF_REASONS:
        raise ServiceError(f"Unknown handoff reason; use one of: {', '.join(HANDOFF_REASONS)}.")
    ticket_number = closed = None
    with session_scope() as s:
        c = _get(s, conversation_id)
        if c.status in ("queued", "agent"):
            return {"status": c.status, "agents_online": online_agent_count(s)}
        online = online_agent_count(s)
        topic = routing_queue.topics(s, [c.id]).get(c.id)
        shut, back_at, zone = calendars.closed_until(s, catalog.team_of(s, topic), utcnow())
        if shut:
            closed = {"back_at": iso(back_at), "words": calendars.back_words(back_at, zone)}
        if shut and reason != "bot_error":  # with the bot down nobody could fill a ticket form: one is opened
            s.add(Handoff(conversation_id=c.id, reason=reason, outcome="closed"))
            result = {"status": "closed", "closed": closed, "email_known": bool(c.customer.email)}
        elif online and not shut:
            c.status, c.handoff_reason, c.queued_at, c.agent_id = "queued", reason, utcnow(), None
            found = triage.predict(s, _triage_text(c), topic=topic,
                                   returning=triage.returning(s, c.customer_id, utcnow(), conversation_id=c.id))
            c.topic, c.priority, c.triage, c.first_in_line = found.category, found.priority, found.as_dict(), False
            c.team_id = catalog.team_of(s, c.topic)
            c.offered_to_id = c.offered_at = None
            deadlines.queued(s, c)
            s.add(Handoff(conversation_id=c.id, reason=reason, outcome="queued"))
            result = {"status": "queued", "agents_online": online}
        else:
            ticket = create_from_transcript(s, c, reason)
            s.add(Handoff(conversation_id=c.id, reason=reason, outcome="ticket", ticket_id=ticket.id))
            ticket_number = ticket.id
            result = {"status": "ticket", "ticket": {"number": ticket.id},
                      "email_known": bool(c.customer.email), **({"closed": closed} if closed else {})}
    log.info("handoff conversation=%s reason=%s outcome=%s", conversation_id, reason, result["status"])
    if closed is not None:
        realtime.publish_status(conversation_id, "bot", None, closed=closed)
    elif result["status"] == "queued":
        realtime.publish_status(conversation_id, "queued", None, queue=assignment.queue_position(conversation_id))
        assignment.dispatch()
        publish_queue()
    elif ticket_number is not None:
        lifecycle.route(ticket_number)
    return result


def _triage_text(c: Conversation) -> str:
    """What triage reads of a chat: the customer's last ten lines, without the bot's button payloads."""
    said = [m.text for m in c.messages if m.sender == "customer" and not m.text.startswith("/")]
    return "\n".join(said[-10:])


def correct_triage(agent_id: int, conversation_id: int, *, priority=None, category=None, confirm: bool = False,
                   admin: bool, see_all: bool) -> dict:
    """An agent's one click on a chat's triage (a chat they may read): the right priority or category,
    applied to the chat (its place in the queue, its team) and recorded for the organisation's model."""
    with session_scope() as s:
        c = may_read(s, agent_id, conversation_id, admin=admin, see_all=see_all)
        priority, category = corrections.check(s, priority, category, confirm)
        if priority is not None:
            c.priority = priority
        if category is not None:
            c.topic, c.team_id = category, catalog.team_of(s, category)
        if priority is not None or category is not None:
            deadlines.retarget(s, c)  # another priority or team: other SLA targets
        corrections.record(s, kind="chat", item_id=c.id, text=_triage_text(c), triage=c.triage, priority=c.priority,
                           category=c.topic, agent_id=agent_id)
        queued = c.status == "queued"
        result = {"id": c.id, "priority": c.priority, "topic": c.topic, "triage": c.triage}
    if queued:  # its place in line or its team changed
        assignment.dispatch()
        publish_queue()
    return result


def accept(agent_id: int, conversation_id: int) -> dict:
    """The agent takes a queued chat: the one offered to them, or (under capacity) one nobody holds.

    In broadcast mode every queued chat is open to every agent and of agents accepting together exactly
    one wins; in auto mode an offer is the agent's alone until it lapses.
    """
    now = utcnow()
    with session_scope() as s:
        agent = s.get(Agent, agent_id)
        if agent is None or not agent.active:
            raise Forbidden("Your agent account is not active.")
        c = _get(s, conversation_id)
        if policy.current.mode == "broadcast":
            won = claims.take_from_queue(s, conversation_id, agent_id, now)
        elif c.status == "queued" and c.offered_to_id == agent_id:
            won = claims.accept_offer(s, conversation_id, agent_id, now)
        elif c.status == "queued" and c.offered_to_id is None:
            won = _pull(s, agent, conversation_id, now)
        elif c.status == "queued":
            raise Conflict("This chat is offered to another agent.")
        else:
            won = False
        if not won:
            raise Conflict("Another agent has already taken this conversation.")
        s.execute(
            update(Handoff)
            .where(Handoff.conversation_id == conversation_id, Handoff.agent_id.is_(None),
                   Handoff.outcome == "queued")
            .values(agent_id=agent_id)
        )
        agent_name = agent.name
        note = _store(s, conversation_id, "system", f"{agent_name} has joined the conversation.")
        note = message_dict(note)
    deadlines.taken(conversation_id)
    log.info("accept conversation=%s agent=%s", conversation_id, agent_id)
    realtime.publish_message(note)
    realtime.publish_status(conversation_id, "agent", agent_name)
    publish_queue()
    return conversation_for_agent(agent_id, conversation_id)


def _pull(s: Session, agent: Agent, conversation_id: int, now) -> bool:
    """An agent picks a waiting chat from the queue themselves: only with room, in the same atomic claim."""
    load = claims.chat_load(s).get(agent.id, 0)
    if load >= agent.capacity:
        raise Conflict(f"You already have {load} open chats, your capacity; close one first.")
    try:
        claims.give_chat(s, conversation_id, selector.Candidate(id=agent.id, capacity=agent.capacity,
                                                                version=agent.routing_version), now, from_agent=None)
    except claims.Lost:
        return False
    return True


def _owned(s: Session, agent_id: int, conversation_id: int) -> Conversation:
    c = _get(s, conversation_id)
    if c.agent_id != agent_id or c.status != "agent":
        raise Forbidden("This conversation is not assigned to you.")
    return c


def post_agent_message(agent_id: int, conversation_id: int, text: str, client_msg_id: str | None) -> dict:
    try:
        with connection_scope() as conn:
            rows = _AGENT_OWNER.execute(conn, {"cid": conversation_id})
            if not rows:
                raise NotFound("There is no such conversation.")
            [(owner_id, status, owner_name)] = rows
            if owner_id != agent_id or status != "agent":
                raise Forbidden("This conversation is not assigned to you.")
            result = _insert_message(conn, conversation_id, "agent", text, client_msg_id, agent_id,
                                     agent_name=owner_name)
    except IntegrityError:
        again = _existing(conversation_id, client_msg_id)
        if again is None:
            raise
        return again
    realtime.publish_message(result)
    return result


def resolve(agent_id: int, conversation_id: int) -> None:
    with session_scope() as s:
        c = _owned(s, agent_id, conversation_id)
        c.status, c.resolved_at = "resolved", utcnow()
        deadlines.ended(s, c)
        c.rating = c.rating_comment = c.rated_at = None  # a chat resolved again is rated again
        note = message_dict(_store(s, c.id, "system", f"{c.agent.name} marked this conversation as resolved."))
    realtime.publish_message(note)
    realtime.publish_status(conversation_id, "resolved", None)
    assignment.dispatch()  # a place freed up


def rate(conversation_id: int, score, comment) -> dict:
    """The customer's 1-5 rating of a chat an agent resolved, with an optional comment (changeable)."""
    if isinstance(score, str) and score.isdigit():
        score = int(score)
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ServiceError("The rating must be a whole number from 1 to 5.")
    comment = clean_text(comment, 2000, "comment") if isinstance(comment, str) and comment.strip() else None
    with session_scope() as s:
        c = _get(s, conversation_id)
        if c.status != "resolved" or c.resolved_at is None:
            raise ServiceError("You can rate this chat once an agent has resolved it.")
        c.rating, c.rating_comment, c.rated_at = score, comment, utcnow()
        agent_id = c.agent_id
    log.info("chat rated conversation=%s score=%s", conversation_id, score)
    if agent_id:  # shown on the chat in the console; the customer's widget confirms from the answer
        realtime.publish_rating(agent_id, conversation_id, score, comment)
    return {"score": score, "comment": comment}


def hand_back(agent_id: int, conversation_id: int) -> None:
    with session_scope() as s:
        c = _owned(s, agent_id, conversation_id)
        c.status, c.agent_id, c.handoff_reason = "bot", None, None
        deadlines.ended(s, c)
        note = message_dict(_store(s, c.id, "system", "You're back with our assistant. Ask me anything."))
    realtime.publish_message(note)
    realtime.publish_status(conversation_id, "bot", None)
    assignment.dispatch()


def release_agent_work(agent_id: int) -> list[int]:
    """Put an agent's open chats back in the queue, first in line (the agent was deactivated)."""
    ids = assignment.requeue_agent_chats(agent_id, "the agent was deactivated")
    assignment.dispatch()
    return ids


def transfer(agent_id: int, conversation_id: int, *, to_agent=None, to_team=None, note=None,
             admin: bool = False) -> dict:
    """Pass a chat to another agent (online, with room) or back to the queue for a team, with a note
    only staff see. The owner may transfer their chat; an admin any chat an agent or the queue holds."""
    note = clean_text(note, 1000, "note") if isinstance(note, str) and note.strip() else None
    if (to_agent in (None, "")) == (to_team in (None, "")):
        raise ServiceError("Transfer to one agent or one team.")
    now = utcnow()
    with session_scope() as s:
        c = _get(s, conversation_id)
        if not admin and (c.agent_id != agent_id or c.status != "agent"):
            raise Forbidden("This conversation is not assigned to you.")
        if c.status not in ("agent", "queued"):
            raise ServiceError("Only a chat with an agent or in the queue can be transferred.")
        actor = s.get(Agent, agent_id)
        by = actor.name if actor else "An admin"
        if to_agent not in (None, ""):
            target_id = clean_int(to_agent, "agent")
            target = s.get(Agent, target_id)
            if target is None or not target.active:
                raise ServiceError("That agent does not exist or is not active.")
            if target_id == c.agent_id:
                raise ServiceError(f"{target.name} already has this chat.")
            ready = {x.id: x for x in claims.ready(s, now)}
            if target_id not in ready:
                raise Conflict(f"{target.name} is not online; transfer to their team instead.")
            if not ready[target_id].has_room:
                raise Conflict(f"{target.name} is at their chat capacity.")
            if c.status == "queued" and c.offered_to_id is not None:
                claims.withdraw_offer(s, c.id, c.offered_to_id)
            try:
                claims.give_chat(s, c.id, ready[target_id], now,
                                 from_agent=c.agent_id if c.status == "agent" else None)
            except claims.Lost:
                raise Conflict("The chat changed hands meanwhile; look again.") from None
            where, target_name = target.name, target.name
        else:
            team_id = clean_int(to_team, "team")
            team = s.get(Team, team_id)
            if team is None:
                raise ServiceError("There is no such team.")
            s.execute(update(Conversation).where(Conversation.id == c.id)
                      .values(status="queued", agent_id=None, team_id=team_id, first_in_line=True,
                              offered_to_id=None, offered_at=None, queued_at=now, updated_at=now))
            where, target_name = f"the {team.name} team", None
        staff_note = message_dict(_store(s, c.id, "system", f"{by} transferred this chat to {where}."
                                         + (f" Note: {note}" if note else "")))
        s.get(Message, staff_note["id"]).internal = True
        staff_note["internal"] = True
        told = message_dict(_store(s, c.id, "system", f"You're being transferred to {target_name or 'a colleague'}."))
    log.info("chat transferred conversation=%s by=%s to_agent=%s to_team=%s", conversation_id, agent_id,
             to_agent, to_team)
    realtime.publish_message(staff_note)
    realtime.publish_message(told)
    if target_name:
        realtime.publish_status(conversation_id, "agent", target_name)
        with session_scope() as s:
            realtime.publish_conversation_to_agent(target_id, conversation_dict(s, _get(s, conversation_id)))
    else:
        realtime.publish_status(conversation_id, "queued", None, queue=assignment.queue_position(conversation_id))
        assignment.dispatch()
    publish_queue()
    return {"conversation_id": conversation_id, "to": where, "agent_id": target_id if target_name else None}


# --- what agents see -------------------------------------------------------------------------------


# The queue's cards sent to every console: the head of the line. With a thousand chats waiting, sending
# them all to every agent on every change starved the service (20 agents x 1,000 cards, five times a
# second: the consoles stopped answering pings and were dropped). The rest is a count.
QUEUE_SHOWN = 50


def queue_event() -> dict:
    """What every console's queue shows: the first QUEUE_SHOWN cards and how many wait in all."""
    cards, total = queue(QUEUE_SHOWN)
    return {"conversations": cards, "total": total}


def queue(limit: int | None = None) -> tuple[list[dict], int]:
    """The first `limit` queued conversations in routing order, each with its topic, to whom it is offered,
    or (broadcast) the agent best suited to it; and how many are queued in all."""
    last_text = (select(Message.text).where(Message.conversation_id == Conversation.id, Message.internal.is_(False))
                 .order_by(Message.id.desc()).limit(1).correlate(Conversation).scalar_subquery())
    now = utcnow()
    with session_scope() as s:
        line = routing_queue.waiting(s)
        total = len(line)
        line = line[:limit] if limit is not None else line
        ids = [c.id for c in line]
        rows = {r[0]: r for r in s.execute(select(Conversation.id, Customer.id, Customer.name, Customer.email,
                                                  last_text)
                                           .join(Customer, Conversation.customer_id == Customer.id)
                                           .where(Conversation.id.in_(ids)))} if ids else {}
        guessed = routing_queue.topics(s, [c.id for c in line if not c.topic])
        ready = claims.ready(s, now)
        names = dict(s.execute(select(Agent.id, Agent.name)).all())
        said: dict[int, list[dict]] = {}
        if ids:  # what each waiting customer said, for the card's "needs" line
            for cid, text in s.execute(select(Message.conversation_id, Message.text).where(
                    Message.conversation_id.in_(ids), Message.sender == "customer").order_by(Message.id)):
                said.setdefault(cid, []).append({"sender": "customer", "text": text})
        cards = [(c.id, c.handoff_reason, c.queued_at, c.topic or guessed.get(c.id), c.priority, c.offered_to_id,
                  c.team_id, (c.triage or {}).get("reasons", []), deadlines.view(c, now)) for c in line]
    result = []
    for position, (cid, reason, queued_at, topic, priority, offered_to, team_id, why, timers) in \
            enumerate(cards, start=1):
        _, customer_id, name, email, last = rows[cid]
        suggested = selector.choose(ready, topic, skill_exists=False, waited_s=0, skill_wait=0, team_id=team_id)
        result.append({"id": cid, "status": "queued", "handoff_reason": reason, "queued_at": iso(queued_at),
                       "customer": {"name": name, "email": email, "label": name or email or f"Visitor {customer_id}"},
                       "agent": None, "last_message": last or "", "topic": topic, "priority": priority,
                       "priority_reasons": why, "position": position, "need": from_chat.need(said.get(cid, [])),
                       "sla": timers,
                       "offered_to": {"id": offered_to, "name": names.get(offered_to)} if offered_to else None,
                       "suggested_agent": {"id": suggested.id, "name": names.get(suggested.id)} if suggested else None})
    return result, total


def conversation_for_agent(agent_id: int, conversation_id: int, *, admin: bool = False) -> dict:
    """The full conversation, for its owner, for any agent while it is queued, or for an admin."""
    with session_scope() as s:
        c = _get(s, conversation_id)
        if not admin and c.status != "queued" and c.agent_id != agent_id:
            raise Forbidden("This conversation is not assigned to you.")
        return conversation_dict(s, c)


def assigned_agent(conversation_id: int) -> int | None:
    with session_scope() as s:
        return s.scalar(select(Conversation.agent_id).where(Conversation.id == conversation_id,
                                                            Conversation.status == "agent"))


def customer_of(conversation_id: int) -> int:
    with session_scope() as s:
        return _get(s, conversation_id).customer_id


def for_customer(conversation_id: int, customer_id: int) -> dict:
    with session_scope() as s:
        c = s.get(Conversation, conversation_id)
        if c is None or c.customer_id != customer_id:
            raise NotFound("There is no such conversation.")
        return conversation_dict(s, c, staff=False)


def offers_to(agent_id: int) -> list[dict]:
    """The chats offered to this agent and not yet accepted, as `chat_assigned` carries them."""
    with session_scope() as s:
        rows = s.scalars(select(Conversation).where(Conversation.offered_to_id == agent_id,
                                                    Conversation.status == "queued"))
        return [{"conversation": conversation_dict(s, c), "accept_within_s": policy.current.accept_timeout}
                for c in rows]


def agent_open_conversations(agent_id: int) -> list[dict]:
    with session_scope() as s:
        rows = s.scalars(select(Conversation).where(Conversation.agent_id == agent_id,
                                                    Conversation.status == "agent"))
        return [conversation_dict(s, c) for c in rows]


# --- a ticket from a chat ----------------------------------------------------------------------------

# A ticket for the same chat opened within this time is shown to the agent before they open another.
RECENT_TICKET_WINDOW = timedelta(minutes=30)


def _recent_tickets(s: Session, conversation_id: int) -> list[dict]:
    rows = s.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id,
                                          Ticket.status.in_(("new", "open", "pending")),
                                          Ticket.created_at >= utcnow() - RECENT_TICKET_WINDOW)
                     .order_by(Ticket.id.desc()))
    return [{"number": t.id, "subject": t.subject, "source": t.source, "created_at": iso(t.created_at)}
            for t in rows]


def ticket_draft(agent_id: int, conversation_id: int, *, admin: bool = False) -> dict:
    """What the console's "Open a ticket" form starts with, and the chat's tickets opened moments ago."""
    conversation = conversation_for_agent(agent_id, conversation_id, admin=admin)
    with session_scope() as s:
        topic = routing_queue.topics(s, [conversation_id]).get(conversation_id)
        recent = _recent_tickets(s, conversation_id)
    return {**from_chat.draft(conversation["messages"], topic), "recent": recent}


def open_ticket_from_chat(agent_id: int, agent_name: str, conversation_id: int, form: dict, *,
                          admin: bool = False) -> dict:
    """Open a ticket for a chat, assign it to the agent and tell the customer in the chat.

    A chat that got a ticket within RECENT_TICKET_WINDOW gets another only when the agent confirms
    (`confirm_duplicate`), so the bot's ticket of a few minutes ago is not silently doubled.
    """
    draft = ticket_draft(agent_id, conversation_id, admin=admin)
    if draft["recent"] and not form.get("confirm_duplicate"):
        t = draft["recent"][0]
        raise Conflict(f"This chat already has ticket #{t['number']} (“{t['subject']}”), opened moments ago. "
                       "Tick “open another ticket anyway” to open a second one.")
    if not form.get("category"):
        raise ServiceError("Choose the ticket's category.")
    customer_id = customer_of(conversation_id)
    ticket = lifecycle.open_ticket(customer_id, form.get("subject") or draft["subject"],
                                   form.get("description") or draft["description"], form.get("category"),
                                   form.get("priority") or "normal", source="agent", actor=agent_name,
                                   conversation_id=conversation_id)
    lifecycle.assign(ticket["number"], agent_id, agent_name)
    email = lifecycle.customer_for_conversation(conversation_id)["email"]
    post_system_message(conversation_id, f"{agent_name} opened ticket #{ticket['number']} for you: "
                        f"“{ticket['subject']}”. " + (f"Updates will be emailed to {email}." if email else
                                                         "Quote its number whenever you contact us about it."))
    log.info("ticket from chat conversation=%s ticket=%s agent=%s", conversation_id, ticket["number"], agent_id)
    return ticket


# --- who the customer is: the console's sidebar -----------------------------------------------------

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def browser_name(user_agent: str | None) -> str | None:
    """"Chrome on Android" from a User-Agent header: enough for an agent, no more."""
    if not user_agent:
        return None
    browser = next((name for key, name in _BROWSERS if key in user_agent), "A browser")
    system = next((name for key, name in _SYSTEMS if key in user_agent), None)
    return f"{browser} on {system}" if system else browser


def note_visit(conversation_id: int, page_url, user_agent: str | None) -> None:
    """Where the widget is open (its page, reported by the browser) and in which browser."""
    with session_scope() as s:
        _note_visit(s, conversation_id, page_url, user_agent)


def _visit(page_url, user_agent: str | None) -> tuple[str | None, str | None]:
    """The page (an http(s) URL) and browser as stored."""
    page = page_url.strip()[:500] if isinstance(page_url, str) and page_url.startswith(("http://", "https://")) \
        else None
    return page, (user_agent or "")[:300] or None


def _note_visit(s: Session, conversation_id: int, page_url, user_agent: str | None) -> None:
    page, agent = _visit(page_url, user_agent)
    # Not a change of the conversation: updated_at stays, or a widget reconnecting after a restart would
    # look like another process's claim and its unanswered question would never be relayed again.
    s.execute(update(Conversation).where(Conversation.id == conversation_id)
              .values(page_url=page, user_agent=agent, updated_at=Conversation.updated_at))


def may_read(s: Session, agent_id: int, conversation_id: int, *, admin: bool, see_all: bool) -> Conversation:
    """A chat an agent may read: their own, a queued one, any of the customer they are helping now."""
    c = _get(s, conversation_id)
    if admin or see_all or c.status == "queued" or (c.agent_id == agent_id and c.status == "agent"):
        return c
    helping = s.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.customer_id == c.customer_id, Conversation.agent_id == agent_id,
        Conversation.status == "agent"))
    if not helping:
        raise Forbidden("This conversation is not assigned to you.")
    return c


def read_for_staff(agent_id: int, conversation_id: int, *, admin: bool, see_all: bool) -> dict:
    with session_scope() as s:
        return conversation_dict(s, may_read(s, agent_id, conversation_id, admin=admin, see_all=see_all))


def customer_profile(agent_id: int, conversation_id: int, *, admin: bool, see_all: bool) -> dict:
    """The console's sidebar: who the customer is, where they are, their other chats and their tickets."""
    with session_scope() as s:
        c = may_read(s, agent_id, conversation_id, admin=admin, see_all=see_all)
        cu = c.customer
        chats = s.scalars(select(Conversation).where(Conversation.customer_id == cu.id,
                                                     Conversation.id != c.id)
                          .order_by(Conversation.id.desc()).limit(20)).all()
        tickets = s.scalars(select(Ticket).where(Ticket.customer_id == cu.id)
                            .order_by(Ticket.id.desc()).limit(20)).all()
        return {
            "customer": {"label": cu.label, "name": cu.name, "email": cu.email,
                         "registered": cu.password_hash is not None, "since": iso(cu.created_at)},
            "page": c.page_url, "browser": browser_name(c.user_agent),
            "chats": [{"id": x.id, "status": x.status, "created_at": iso(x.created_at),
                       "rating": x.rating} for x in chats],
            "tickets": [{"number": t.id, "subject": t.subject, "status": t.status,
                         "visible": admin or see_all or t.assignee_id in (None, agent_id)} for t in tickets],
        }


# --- the customer's copy of the chat -----------------------------------------------------------------


def email_transcript(conversation_id: int, email, company: str) -> str:
    """Queue the chat so far (what the customer saw: no internal lines) to the address they gave."""
    email = clean_email(email)
    with session_scope() as s:
        c = _get(s, conversation_id)
        titles: dict[str, str] = {}
        lines = []
        for m in c.messages:
            if m.internal:
                continue
            for b in m.buttons or []:
                titles[str(b.get("payload"))] = str(b.get("title"))
            who = {"customer": "You", "bot": "Assistant", "system": "Notice"}.get(m.sender) \
                or (m.agent.name if m.agent else "Agent")
            text = titles.get(m.text, m.text) if m.sender == "customer" else m.text
            lines.append({"time": m.created_at.strftime("%Y-%m-%d %H:%M UTC"), "who": who, "text": text})
        if not lines:
            raise ServiceError("There is nothing in this chat to send yet.")
        outbox.queue(s, email, "chat_transcript", messages=lines, company=company)
    log.info("chat transcript queued conversation=%s", conversation_id)
    return email


# --- tags and search ----------------------------------------------------------------------------------


def set_tags(agent_id: int, conversation_id: int, tags, *, admin: bool, see_all: bool) -> list[str]:
    """Label a chat the agent may read (internal: customers never see tags)."""
    tags = clean_tags(tags)
    with session_scope() as s:
        c = may_read(s, agent_id, conversation_id, admin=admin, see_all=see_all)
        c.tags = tags
    log.info("conversation tagged conversation=%s tags=%s", conversation_id, ",".join(tags))
    return tags


def search(*, viewer: tuple[int, bool], q: str | None = None, customer: str | None = None, tag: str | None = None,
           agent_id: int | None = None, since=None, until=None, limit: int = 100) -> list[dict]:
    """Past chats by what was said, who the customer is, tag, agent and date; an agent who may not see
    every chat (AGENTS_SEE_ALL off) finds only the chats they answered."""
    from handoff.tickets.queries import tag_filter

    me, everything = viewer
    query = select(Conversation).join(Customer, Conversation.customer_id == Customer.id)
    if not everything:
        query = query.where(Conversation.id.in_(select(Message.conversation_id).where(Message.agent_id == me)))
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(Conversation.id.in_(select(Message.conversation_id).where(Message.text.ilike(like))))
    if customer and customer.strip():
        like = f"%{customer.strip().lower()}%"
        query = query.where(or_(Customer.name.ilike(like), Customer.email.ilike(like)))
    if tag:
        query = query.where(tag_filter(Conversation.tags, tag))
    if agent_id is not None:
        query = query.where(Conversation.id.in_(select(Message.conversation_id).where(Message.agent_id == agent_id)))
    if since:
        query = query.where(Conversation.created_at >= since)
    if until:
        query = query.where(Conversation.created_at < until)
    with session_scope() as s:
        rows = s.scalars(query.order_by(Conversation.id.desc()).limit(limit)).all()
        result = []
        for c in rows:
            hit = None
            if q and q.strip():
                hit = s.scalar(select(Message.text).where(Message.conversation_id == c.id,
                                                          Message.text.ilike(f"%{q.strip().lower()}%")).limit(1))
            result.append({"id": c.id, "status": c.status, "customer": c.customer.label, "created_at": c.created_at,
                           "agent": c.agent.name if c.agent else None, "tags": c.tags or [],
                           "rating": c.rating, "snippet": (hit or "")[:160]})
        return result
