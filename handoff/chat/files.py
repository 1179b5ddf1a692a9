"""Files sent in a live chat: checked and stored like a ticket's (tickets/attachments.py), kept on a chat
message and published like any message; handed out only to the chat's customer and staff who may read it.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from handoff import realtime
from handoff.chat.conversations import _CUSTOMER_OWNER, may_read, message_dict, publish_queue
from handoff.db import session_scope
from handoff.errors import Forbidden, NotFound, ServiceError
from handoff.models import Attachment, Conversation, Customer, Message
from handoff.tickets import attachments
from handoff.tickets.attachments import Served, Upload

log = logging.getLogger("careregistry.chat.files")
NO_SUCH_FILE = "There is no such file."


def _caption(text: str, uploads: list[Upload]) -> str:
    # Transcripts, mails and the queue's "last message" show text only, so a file without words still says
    # what was sent.
    return text or "📎 " + ", ".join(u.name for u in uploads)


def _checked(uploads: list[Upload]) -> list[Upload]:
    uploads = attachments.check(uploads)
    if not uploads:
        raise ServiceError("Choose a file to send.")
    return uploads


def post_from_customer(conversation_id: int, uploads: list[Upload], text: str,
                       owner: tuple[int, int | None]) -> dict:
    """A customer's files (and words) in their chat. `owner` as for post_customer_message: (customer id,
    log-in session version, or None for a visitor). Refused uploads store nothing."""
    uploads = _checked(uploads)
    with session_scope() as s:
        row = s.execute(_CUSTOMER_OWNER.statement, {"cid": conversation_id}).first()
        if row is None or row.customer_id != owner[0]:
            raise NotFound("There is no such conversation.")
        if owner[1] is not None and row.session_version != owner[1]:
            raise Forbidden("Your session has ended; please log in again.")
        result = _store(s, conversation_id, "customer", uploads, text, uploaded_by="customer")
        status = row.status
    realtime.publish_message(result)
    if status == "queued":
        publish_queue()
    log.info("chat files conversation=%s sender=customer files=%d", conversation_id, len(uploads))
    return result


def post_from_agent(agent_id: int, conversation_id: int, uploads: list[Upload], text: str) -> dict:
    """An agent's files in a chat assigned to them (the rule of post_agent_message)."""
    uploads = _checked(uploads)
    with session_scope() as s:
        c = s.get(Conversation, conversation_id)
        if c is None:
            raise NotFound("There is no such conversation.")
        if c.agent_id != agent_id or c.status != "agent":
            raise Forbidden("This conversation is not assigned to you.")
        result = _store(s, conversation_id, "agent", uploads, text, uploaded_by=c.agent.name, agent_id=agent_id)
    realtime.publish_message(result)
    log.info("chat files conversation=%s sender=agent agent=%s files=%d", conversation_id, agent_id, len(uploads))
    return result


def _store(s, conversation_id: int, sender: str, uploads: list[Upload], text: str, *, uploaded_by: str,
           agent_id: int | None = None) -> dict:
    m = Message(conversation_id=conversation_id, sender=sender, text=_caption(text, uploads), buttons=[],
                agent_id=agent_id)
    s.add(m)
    s.flush()
    attachments.keep(s, uploads, uploaded_by, message_id=m.id)
    s.refresh(m)
    return message_dict(m)


def _chat_file(s, attachment_id: int) -> tuple[Attachment, Conversation]:
    a = s.get(Attachment, attachment_id)
    if a is None or a.message_id is None:
        raise NotFound(NO_SUCH_FILE)
    return a, s.get(Message, a.message_id).conversation


def for_customer(attachment_id: int, customer_id: int) -> Served:
    with session_scope() as s:
        a, c = _chat_file(s, attachment_id)
        if c.customer_id != customer_id:
            raise NotFound(NO_SUCH_FILE)
        return attachments.served(a)


def visitor_customer(visitor_id: str) -> int:
    """The anonymous visitor behind a widget's visitor id (never an account: see open_for_visitor)."""
    with session_scope() as s:
        row = s.execute(select(Customer.id, Customer.password_hash).where(Customer.visitor_id == visitor_id)).first()
    if row is None or row.password_hash is not None:
        raise NotFound("There is no such conversation.")
    return row.id


def for_staff(attachment_id: int, agent_id: int, *, admin: bool, see_all: bool) -> Served:
    with session_scope() as s:
        a, c = _chat_file(s, attachment_id)
        try:
            may_read(s, agent_id, c.id, admin=admin, see_all=see_all)
        except Forbidden:
            raise NotFound(NO_SUCH_FILE) from None
        return attachments.served(a)
