"""Customers' accounts: registration, log-in, passwords, and linking anonymous chats to an account."""
from __future__ import annotations

import logging

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from handoff.db import session_scope
from handoff.errors import NotFound, ServiceError, clean_email, clean_text
from handoff.mail import outbox
from handoff.models import Conversation, Customer, Ticket
from handoff.people import throttle
from handoff.people.passwords import hash_password, verify_password

log = logging.getLogger("careregistry.accounts")
RESET_HOURS = 2
LINK_HOURS = 48


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password(value) -> str:
    if not isinstance(value, str) or len(value) < 8:
        raise ServiceError("The password must be at least 8 characters.")
    if len(value) > 200:
        raise ServiceError("The password must be at most 200 characters.")
    return value


def customer_dict(c: Customer) -> dict:
    return {"id": c.id, "email": c.email, "name": c.name, "label": c.label}


def _registered(s, email: str) -> Customer | None:
    return s.scalar(select(Customer).where(Customer.email == email, Customer.password_hash.is_not(None)))


def register(email, password, name=None, visitor_id: str | None = None) -> dict | None:
    """Create an account, or, if the address has one already, mail its owner instead (no text of the caller's).

    The caller answers both alike, so registration cannot tell anyone whether an
    address has an account (as Zendesk does). Returns the new customer, or None when the address was taken.
    """
    email, password = clean_email(email), _password(password)
    name = clean_text(name, 120, "name") if name and str(name).strip() else None
    password_hash = hash_password(password)  # in both cases, so the answer takes as long
    try:
        with session_scope() as s:
            if _registered(s, email):
                outbox.queue(s, email, "account_exists")
                log.info("registration for an existing account")
                return None
            c = Customer(email=email, name=name, password_hash=password_hash, email_verified=False)
            s.add(c)
            s.flush()
            result = customer_dict(c)
    except IntegrityError:  # registered in parallel: the other request has mailed the owner
        return None
    if visitor_id:
        link_visitor(visitor_id, result["id"])
    log.info("customer registered id=%s", result["id"])
    return result


def authenticate(email, password, address: str) -> dict:
    """The customer, or a refusal: wrong credentials (401) or throttled (429)."""
    password = password if isinstance(password, str) else ""

    def verify(account: str) -> dict | None:
        with session_scope() as s:
            c = _registered(s, account)
            ok = c is not None and verify_password(c.password_hash, password)
            return customer_dict(c) if ok else None

    return throttle.guarded(email, address, verify)


def get(customer_id: int) -> dict:
    with session_scope() as s:
        c = s.get(Customer, customer_id)
        if c is None or c.password_hash is None:
            raise NotFound("There is no such account.")
        return customer_dict(c)


def change_password(customer_id: int, current, new) -> None:
    new = _password(new)
    with session_scope() as s:
        c = s.get(Customer, customer_id)
        if c is None or not verify_password(c.password_hash, current if isinstance(current, str) else ""):
            raise ServiceError("The current password is wrong.")
        c.password_hash = hash_password(new)


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
    try:
        data = _signer("reset").loads(token, max_age=RESET_HOURS * 3600)
    except SignatureExpired:
        raise ServiceError("This reset link has expired. Ask for a new one.") from None
    except BadSignature:
        raise ServiceError("This reset link is not valid. Ask for a new one.") from None
    with session_scope() as s:
        c = s.get(Customer, data.get("c")) if isinstance(data, dict) else None
        # The token carries a piece of the old hash, so it stops working once used.
        if c is None or c.password_hash is None or c.password_hash[-16:] != data.get("h"):
            raise ServiceError("This reset link was already used. Ask for a new one.")
        c.password_hash = hash_password(new)
        return c.id


def link_visitor(visitor_id: str, account_id: int) -> int:
    """Move an anonymous visitor's chats and tickets into the account. Returns how many chats moved."""
    with session_scope() as s:
        visitor = s.scalar(select(Customer).where(Customer.visitor_id == visitor_id))
        if visitor is None or visitor.id == account_id or visitor.password_hash is not None:
            return 0
        return _merge(s, visitor, account_id)


def _merge(s, visitor: Customer, account_id: int) -> int:
    moved = s.execute(update(Conversation).where(Conversation.customer_id == visitor.id)
                      .values(customer_id=account_id)).rowcount
    s.execute(update(Ticket).where(Ticket.customer_id == visitor.id).values(customer_id=account_id))
    visitor.merged_into_id = account_id
    log.info("visitor linked visitor=%s account=%s conversations=%s", visitor.id, account_id, moved)
    return moved


def offer_link_by_email(conversation_id: int, email: str, base_url: str) -> bool:
    """The visitor told the bot an address that belongs to an account: mail a confirmation link."""
    with session_scope() as s:
        conversation = s.get(Conversation, conversation_id)
        account = _registered(s, email)
        if conversation is None or account is None or conversation.customer_id == account.id:
            return False
        token = _signer("link").dumps({"v": conversation.customer_id, "a": account.id})
        outbox.queue(s, account.email, "confirm_email", name=account.name or "there",
                     link=f"{base_url}/portal/link/{token}")
        return True


def confirm_link(token: str, account_id: int) -> int:
    try:
        data = _signer("link").loads(token, max_age=LINK_HOURS * 3600)
    except BadSignature:
        raise ServiceError("This confirmation link is not valid or has expired.") from None
    if not isinstance(data, dict) or data.get("a") != account_id:
        raise ServiceError("This confirmation link belongs to another account.")
    with session_scope() as s:
        visitor = s.get(Customer, data.get("v"))
        if visitor is None or visitor.password_hash is not None:
            return 0
        return _merge(s, visitor, account_id)
