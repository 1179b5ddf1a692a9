"""`receive()`: every way mail comes in (IMAP, the SMTP listener, the CLI) ends here.

Each mail is recorded with what became of it in the same transaction as that outcome, keyed by its
Message-ID, so a mail fetched again after a crash or restart changes nothing the second time. Whatever
a mail holds, `receive()` records it and returns: an unreadable one is kept raw for admins.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from handoff.db import session_scope
from handoff.errors import NotFound
from handoff.inbound import loops, parsing
from handoff.inbound.matching import ticket_for
from handoff.models import Customer, InboundMail, Ticket, utcnow
from handoff.errors import ServiceError
from handoff.tickets import attachments, lifecycle

log = logging.getLogger("careregistry.inbound")
MAX_TEXT = 8000
OUTCOME_WORDS = {
    "ticket": "opened a ticket", "reply": "added to its ticket", "follow_up": "opened a follow-up",
    "held": "held: not from the ticket's customer", "accepted": "accepted by staff",
    "rejected": "rejected by staff", "loop": "not answered: automatic mail", "rate_limited":
    "not answered: too many mails from this sender", "unreadable": "could not be read",
}


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def receive(raw: bytes, source: str, recipients: list[str] | None = None) -> dict:
    """Take one mail as delivered. Returns {"status", "ticket", "id", "duplicate"}; never raises for the
    mail's content (a database outage does raise: the caller leaves the mail where it is, to try again)."""
    message_id = parsing.message_id_of(raw)
    key = parsing.dedupe_key(raw, message_id)
    with session_scope() as s:
        seen = s.scalar(select(InboundMail).where(InboundMail.dedupe_key == key))
        if seen is not None:
            log.info("inbound duplicate id=%s source=%s", seen.id, source)
            return {"status": seen.status, "ticket": seen.ticket_id, "id": seen.id, "duplicate": True}
    try:
        with session_scope() as s:
            record = InboundMail(dedupe_key=key, message_id=message_id, source=source, raw=raw, status="unreadable")
            s.add(record)
            try:
                parsed = parsing.parse(raw)
            except Exception as err:  # whatever is wrong with it, it is kept for an admin to read
                record.reason = f"{type(err).__name__}: {err}"[:500]
                s.flush()
                log.warning("inbound unreadable id=%s source=%s reason=%s", record.id, source, record.reason)
                return _result(record)
            record.from_addr, record.subject = parsed.from_addr, parsed.subject[:300] or None
            record.original, record.html = parsed.original, parsed.html
            record.text = parsed.text
            s.flush()
            try:
                with s.begin_nested():  # what the mail caused is undone if it fails; the mail itself stays
                    _decide(s, record, parsed, [r.lower() for r in recipients or []])
            except (OperationalError, InterfaceError):
                raise  # the database is away: leave the mail where it is, to try again
            except Exception as err:  # this mail cannot be taken (and never will): keep it for an admin
                log.exception("inbound mail not taken id=%s source=%s", record.id, source)
                record.status, record.ticket_id = "unreadable", None
                record.reason = f"{type(err).__name__}: {err}"[:500]
            s.flush()
            log.info("inbound mail id=%s source=%s status=%s ticket=%s", record.id, source, record.status,
                     record.ticket_id)
            return _result(record)
    except IntegrityError:  # another process took the same mail at the same moment: it is theirs
        with session_scope() as s:
            seen = s.scalar(select(InboundMail).where(InboundMail.dedupe_key == key))
            return {"status": seen.status, "ticket": seen.ticket_id, "id": seen.id, "duplicate": True}


def _result(record: InboundMail) -> dict:
    return {"status": record.status, "ticket": record.ticket_id, "id": record.id, "duplicate": False}


def _decide(s, record: InboundMail, parsed: parsing.Parsed, envelope: list[str]) -> None:
    why = loops.automatic(parsed.headers, parsed.from_addr, parsed.message_id)
    if why:
        record.status, record.reason = "loop", why
        return
    hour_ago = utcnow() - timedelta(hours=1)
    recent = s.scalar(select(func.count(InboundMail.id)).where(
        InboundMail.from_addr == parsed.from_addr, InboundMail.received_at >= hour_ago,
        InboundMail.dedupe_key != record.dedupe_key))
    limit = int(_setting("INBOUND_SENDER_HOURLY", 20))
    if limit and recent >= limit:
        record.status, record.reason = "rate_limited", f"more than {limit} mails in an hour"
        return
    text = _words(parsed.text) or _words(parsed.original)
    ticket = ticket_for(s, parsed.recipients + envelope, parsed.references)
    if ticket is not None:
        record.ticket_id = ticket.id
        if (ticket.customer.email or "").lower() != parsed.from_addr:
            record.status, record.reason = "held", "the sender is not the ticket's customer"
            lifecycle.add_event(s, ticket, "mail_held", "system", public=False, sender=parsed.from_addr)
            return
        uploads, not_kept = _uploads(parsed.files)
        landed = lifecycle.reply_in(s, ticket, text or "(an empty mail)", source="email", uploads=uploads,
                                    original=_trimmed(parsed.original), inbound=record.id,
                                    **({"not_kept": not_kept} if not_kept else {}))
        record.status = "reply" if landed.id == ticket.id else "follow_up"
        record.ticket_id = landed.id
        return
    customer = _customer(s, parsed)
    subject = (parsed.subject or (text or "Mail").splitlines()[0])[:200]
    description = text or subject
    uploads, not_kept = _uploads(parsed.files)
    t = lifecycle.open_in(s, customer, description, None, source="email", subject=subject, uploads=uploads,
                          **({"not_kept": not_kept} if not_kept else {}))
    record.status, record.ticket_id = "ticket", t.id


def _uploads(files: list[tuple[str, bytes]]) -> tuple[list, list[str]]:
    """The mail's files within the limits; the others are named (and stay in the raw mail for admins)."""
    _max_bytes, max_count = attachments.limits()
    kept, not_kept = [], []
    for name, data in files:
        if len(kept) >= max_count:
            not_kept.append(f"{attachments.clean_name(name)}: more than {max_count} files")
            continue
        try:
            kept += attachments.check([attachments.Upload(name, data)])
        except ServiceError as err:
            not_kept.append(err.message)
    return kept, not_kept


def _words(text: str) -> str:
    return _trimmed(text.strip())


def _trimmed(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _customer(s, parsed: parsing.Parsed) -> Customer:
    """The address's confirmed account, else the customer an earlier mail from it made, else a new one.

    Never a chat visitor who merely typed the address: whoever holds that browser could then ask the
    bot about the mail's ticket. A new customer gets no password: a mail proves nothing about log-ins.
    """
    found = s.scalar(select(Customer).where(Customer.email == parsed.from_addr,
                                            Customer.password_hash.is_not(None),
                                            Customer.email_verified.is_(True)))
    found = found or s.scalar(select(Customer).where(Customer.email == parsed.from_addr,
                                                     Customer.password_hash.is_(None),
                                                     Customer.visitor_id.is_(None),
                                                     Customer.merged_into_id.is_(None))
                              .order_by(Customer.id.desc()))
    if found is None:
        found = Customer(email=parsed.from_addr, name=parsed.from_name, email_verified=False)
        s.add(found)
        s.flush()
    return found


# --- what staff do with held mail, and what admins see ----------------------------------------------

def decide_held(inbound_id: int, accept: bool, actor: str, ticket: int | None = None) -> dict:
    """Accept a held mail as a reply on its ticket (from the address it came from), or reject it.
    `ticket`: the ticket the deciding page shows, which the mail must be held on."""
    with session_scope() as s:
        record = s.get(InboundMail, inbound_id)
        if record is None or record.status != "held" or (ticket is not None and record.ticket_id != ticket):
            raise NotFound("There is no such held mail (maybe someone decided on it already).")
        ticket = s.get(Ticket, record.ticket_id)
        record.decided_by = actor
        if not accept:
            record.status = "rejected"
            lifecycle.add_event(s, ticket, "mail_rejected", actor, public=False, sender=record.from_addr)
            return _result(record)
        text = _words(record.text or "") or _words(record.original or "") or "(an empty mail)"
        uploads, not_kept = _uploads(parsing.parse(record.raw).files)
        landed = lifecycle.reply_in(s, ticket, text, source="email", original=_trimmed(record.original or ""),
                                    inbound=record.id, sender=record.from_addr, accepted_by=actor, uploads=uploads,
                                    **({"not_kept": not_kept} if not_kept else {}))
        record.status, record.ticket_id = "accepted", landed.id
        log.info("inbound held mail accepted id=%s ticket=%s by=%s", inbound_id, landed.id, actor)
        return _result(record)


def listing(statuses: tuple[str, ...] | None = None, ticket_id: int | None = None, limit: int = 100) -> list[dict]:
    with session_scope() as s:
        query = select(InboundMail).order_by(InboundMail.id.desc()).limit(limit)
        if statuses:
            query = query.where(InboundMail.status.in_(statuses))
        if ticket_id is not None:
            query = query.where(InboundMail.ticket_id == ticket_id)
        return [{"id": m.id, "from": m.from_addr, "subject": m.subject, "status": m.status,
                 "words": OUTCOME_WORDS.get(m.status, m.status), "reason": m.reason, "ticket": m.ticket_id,
                 "text": m.text, "original": m.original, "source": m.source, "size": len(m.raw),
                 "received_at": m.received_at, "decided_by": m.decided_by} for m in s.scalars(query)]


def raw(inbound_id: int) -> bytes:
    with session_scope() as s:
        record = s.get(InboundMail, inbound_id)
        if record is None:
            raise NotFound("There is no such mail.")
        return record.raw


def sanitised_html(inbound_id: int) -> str | None:
    with session_scope() as s:
        record = s.get(InboundMail, inbound_id)
        if record is None:
            raise NotFound("There is no such mail.")
        return record.html



