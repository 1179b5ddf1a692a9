"""Customers' accounts: registration, log-in, passwords, and linking anonymous chats to an account."""
from __future__ import annotations

import logging

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from handoff.chat import conversations
from handoff.db import session_scope
from handoff.errors import NotFound, ServiceError, clean_email, clean_text
from handoff.mail import outbox
from handoff.models import Conversation, Customer, Ticket
from handoff.people import throttle
from handoff.people.passwords import hash_password, verify_password

log = logging.getLogger("careregistry.accounts")
RESET_HOURS = 2
LINK_HOURS = 48
VERIFY_HOURS = 48


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _unsigned(salt: str, token: str, hours: float, link: str, remedy: str):
    """The data of a mailed link's token, or a refusal naming the link and what to do instead."""
    try:
        return _signer(salt).loads(token, max_age=hours * 3600)
    except SignatureExpired:
        raise ServiceError(f"{link} has expired. {remedy}") from None
    except BadSignature:
        raise ServiceError(f"{link} is not valid. {remedy}") from None


def _holder(s, data) -> Customer | None:
    """The customer a password-bound token names, while their password hash still ends as it did when
    the token was made (the token carries its last 16 characters)."""
    c = s.get(Customer, data.get("c")) if isinstance(data, dict) else None
    if c is None or c.password_hash is None or c.password_hash[-16:] != data.get("h"):
        return None
    return c


def _password(value) -> str:
    if not isinstance(value, str) or len(value) < 8:
        raise ServiceError("The password must be at least 8 characters.")
    if len(value) > 200:
        raise ServiceError("The password must be at most 200 characters.")
    return value


def customer_dict(c: Customer) -> dict:
    return {"id": c.id, "email": c.email, "name": c.name, "label": c.label, "session_version": c.session_version}


def _registered(s, email: str) -> Customer | None:
    """The address's account, once its owner has confirmed the address."""
    return s.scalar(select(Customer).where(Customer.email == email, Customer.password_hash.is_not(None),
                                           Customer.email_verified.is_(True)))


def _pending(s, email: str) -> Customer | None:
    """A registration whose confirmation link has not been followed yet."""
    return s.scalar(select(Customer).where(Customer.email == email, Customer.password_hash.is_not(None),
                                           Customer.email_verified.is_(False)).order_by(Customer.id))


def register(email, password, name, base_url: str) -> None:
    """Mail the address a link that makes the account usable, or, if it has one already, tell its owner.

    The caller answers both alike, and an account cannot be used before its address is confirmed, so
    neither the form nor a log-in afterwards tells anyone whether an address has an account (as Zendesk
    and Chatwoot confirm sign-ups). Registering an unconfirmed address again replaces the earlier
    password, so whoever registered someone else's address first holds nothing once its owner does.
    """
    email, password = clean_email(email), _password(password)
    name = clean_text(name, 120, "name") if name and str(name).strip() else None
    password_hash = hash_password(password)  # in both cases, so the answer takes as long
    with session_scope() as s:
        if _registered(s, email):
            outbox.queue(s, email, "account_exists")
            log.info("registration for an existing account")
            return
        c = _pending(s, email)
        if c is None:
            c = Customer(email=email, email_verified=False)
            s.add(c)
        c.name, c.password_hash = name, password_hash
        s.flush()
        token = _signer("verify").dumps({"c": c.id, "h": password_hash[-16:]})
        outbox.queue(s, email, "verify_email", name=name or "there", hours=VERIFY_HOURS,
                     link=f"{base_url}/portal/verify/{token}")
        customer_id = c.id
    log.info("customer registered id=%s confirmed=no", customer_id)


def verify_email(token: str) -> dict:
    """The owner of the address followed the link: the account is theirs to use from now on."""
    data = _unsigned("verify", token, VERIFY_HOURS, "This confirmation link", "Register again to get a new one.")
    with session_scope() as s:
        # A later registration of the address changes the hash, which voids this link.
        c = _holder(s, data)
        if c is None:
            raise ServiceError("This confirmation link is no longer valid. Use the one in our latest mail.")
        if not c.email_verified:
            if _registered(s, c.email):
                raise ServiceError("This address already has an account. Log in, or reset its password.")
            c.email_verified = True
            log.info("customer confirmed id=%s", c.id)
        return customer_dict(c)


def authenticate(email, password, address: str) -> dict:
    """The customer, or a refusal: wrong credentials (401) or throttled (429)."""
    password = password if isinstance(password, str) else ""

    def verify(account: str) -> dict | None:
        with session_scope() as s:
            c = _registered(s, account)
            ok = c is not None and verify_password(c.password_hash, password)
            return customer_dict(c) if ok else None

    try:
        return throttle.guarded(email, address, verify)
    except ServiceError as err:
        if err.status != 401:
            raise
        # Said to everyone alike: an unconfirmed account answers exactly as a wrong password does.
        raise ServiceError("Wrong email or password. If you registered recently, confirm your address first "
                           "with the link we emailed you.", 401) from None


def get(customer_id: int) -> dict:
    with session_scope() as s:
        c = s.get(Customer, customer_id)
        if c is None or c.password_hash is None:
            raise NotFound("There is no such account.")
        return customer_dict(c)


def change_password(customer_id: int, current, new) -> dict:
    """Set a new password and end every session; returns the customer, to log this browser in again."""
    new = _password(new)
    with session_scope() as s:
        c = s.get(Customer, customer_id)
        if c is None or not verify_password(c.password_hash, current if isinstance(current, str) else ""):
            raise ServiceError("The current password is wrong.")
        c.password_hash = hash_password(new)
        c.session_version += 1
        result = customer_dict(c)
    _sessions_ended(customer_id, "password-changed")
    return result


def revoke_sessions(customer_id: int) -> None:
    """Every session cookie of this customer, wherever it was copied to, stops working."""
    with session_scope() as s:
        s.execute(update(Customer).where(Customer.id == customer_id)
                  .values(session_version=Customer.session_version + 1))
    _sessions_ended(customer_id, "log-out")


def _sessions_ended(customer_id: int, why: str) -> None:
    """Chat sockets opened with an ended session stop receiving the account's chats."""
    conversations.close_chat_sockets(conversations.ids_of_customer(customer_id))
    log.info("customer sessions ended id=%s reason=%s", customer_id, why)


def request_reset(email, base_url: str) -> None:
    """Mail a single-use, expiring link. Says nothing about whether the account exists."""
    try:
        email = clean_email(email)
    except ServiceError:
        return
    with session_scope() as s:
        c = _registered(s, email)
        if c is None:
            log.info("password reset for unknown address")
            return
        token = _signer("reset").dumps({"c": c.id, "h": c.password_hash[-16:]})
        outbox.queue(s, c.email, "password_reset", name=c.name or "there", hours=RESET_HOURS,
                     link=f"{base_url}/portal/reset/{token}")


def reset_password(token: str, new) -> int:
    new = _password(new)
    data = _unsigned("reset", token, RESET_HOURS, "This reset link", "Ask for a new one.")
    with session_scope() as s:
        c = _holder(s, data)  # the new password changes the hash, so the link works once
        if c is None:
            raise ServiceError("This reset link was already used. Ask for a new one.")
        c.password_hash = hash_password(new)
        c.session_version += 1  # whoever knew the old password may hold a session: it ends here
        customer_id = c.id
    _sessions_ended(customer_id, "password-reset")
    return customer_id


def link_visitor(visitor_id: str, account_id: int) -> int:
    """Move an anonymous visitor's chats and tickets into the account. Returns how many chats moved.

    Only for the browser that holds both the visitor id and the account's session (the widget's page
    logging in or registering). The visitor id is retired: it never opens the account's chats, so
    whoever else holds it (or this browser after logging out) starts a new anonymous chat.
    """
    with session_scope() as s:
        visitor = s.scalar(select(Customer).where(Customer.visitor_id == visitor_id))
        if visitor is None or visitor.id == account_id or visitor.password_hash is not None:
            return 0
        ids = list(s.scalars(select(Conversation.id).where(Conversation.customer_id == visitor.id)))
        _move(s, visitor.id, ids, account_id)
        visitor.merged_into_id, visitor.visitor_id = account_id, None
    conversations.close_chat_sockets(ids)
    log.info("visitor linked visitor=%s account=%s conversations=%s", visitor.id, account_id, len(ids))
    return len(ids)


def _move(s, visitor_id: int, conversation_ids: list[int], account_id: int) -> None:
    s.execute(update(Conversation).where(Conversation.id.in_(conversation_ids))
              .values(customer_id=account_id))
    s.execute(update(Ticket).where(Ticket.customer_id == visitor_id, Ticket.conversation_id.in_(conversation_ids))
              .values(customer_id=account_id))


def offer_link_by_email(conversation_id: int, email: str, base_url: str) -> bool:
    """The visitor told the bot an address that belongs to an account: mail a confirmation link.

    The link names this one conversation: confirmed, it moves that chat and its tickets into the
    account. Like Zendesk and Chatwoot, an identity merge needs a verified identity, and the address a
    visitor typed is not one: whoever typed it never gains anything of the account.
    """
    with session_scope() as s:
        conversation = s.get(Conversation, conversation_id)
        account = _registered(s, email)
        if conversation is None or account is None or conversation.customer.password_hash is not None:
            return False
        token = _signer("link").dumps({"c": conversation.id, "v": conversation.customer_id, "a": account.id})
        outbox.queue(s, account.email, "confirm_email", name=account.name or "there",
                     link=f"{base_url}/portal/link/{token}")
        return True


def confirm_link(token: str, account_id: int) -> int:
    """The account's owner, logged in, confirms: that one chat (and its tickets) joins the account.

    The chat leaves the visitor, whose sockets stop seeing it; the visitor's next chat is a new one.
    """
    try:
        data = _signer("link").loads(token, max_age=LINK_HOURS * 3600)
    except BadSignature:
        raise ServiceError("This confirmation link is not valid or has expired.") from None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise ServiceError("This confirmation link is not valid or has expired.")
    if data.get("a") != account_id:
        raise ServiceError("This confirmation link belongs to another account.")
    with session_scope() as s:
        conversation = s.get(Conversation, data["c"])
        # Still the anonymous visitor's: a link used once (or a chat moved since) does nothing again.
        if conversation is None or conversation.customer_id != data.get("v") \
                or conversation.customer.password_hash is not None:
            return 0
        _move(s, conversation.customer_id, [conversation.id], account_id)
    conversations.close_chat_sockets([data["c"]])
    log.info("chat linked conversation=%s account=%s", data["c"], account_id)
    return 1
