"""Email: an outbox committed with the change that caused it, and a worker that delivers it.

`queue()` is called inside the caller's transaction, so a mail exists exactly when its cause does.
`deliver_due()` claims due mails, sends them by SMTP (or into a folder when no SMTP server is configured),
and retries failures with capped exponential backoff, so mail held up by an outage arrives soon after.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from handoff.config import PROJECT_ROOT, VAR_DIR, public_url
from handoff.db import session_scope
from handoff.models import OutboxMail, utcnow

log = logging.getLogger("careregistry.mail")
_templates = Environment(loader=FileSystemLoader(PROJECT_ROOT / "web" / "templates" / "email"),
                         autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
MAX_BACKOFF = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(days=3)
CLAIM = timedelta(minutes=2)


def render(kind: str, context: dict) -> tuple[str, str, str]:
    context = {"portal_url": public_url() + "/portal", "base_url": public_url(), **context}
    subject = _templates.get_template(f"{kind}.subject.txt").render(context).strip()
    return subject, _templates.get_template(f"{kind}.txt").render(context), \
        _templates.get_template(f"{kind}.html").render(context)


def queue(s: Session, to_addr: str | None, kind: str, **context) -> OutboxMail | None:
    """Add a mail to the outbox in the caller's transaction (nothing is queued without an address)."""
    if not to_addr:
        return None
    subject, text, html = render(kind, context)
    mail = OutboxMail(to_addr=to_addr, subject=subject, text=text, html=html, kind=kind)
    s.add(mail)
    return mail


class SmtpSender:
    def __init__(self, host: str, port: int, tls: str = "none", user: str | None = None,
                 password: str | None = None, timeout: float = 10):
        self.host, self.port, self.tls, self.user, self.password, self.timeout = host, port, tls, user, password, timeout

    def send(self, message: EmailMessage) -> None:
        if self.tls == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


class FolderSender:
    """No SMTP server configured: keep each mail as an .eml file the demo can show."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").split("@")[0]
        (self.folder / f"{name}.eml").write_bytes(bytes(message))


def sender_from_env():
    host = os.environ.get("SMTP_HOST")
    if not host:
        return FolderSender(VAR_DIR / "mail")
    return SmtpSender(host, int(os.environ.get("SMTP_PORT", "25")), os.environ.get("SMTP_TLS", "none"),
                      os.environ.get("SMTP_USER") or None, os.environ.get("SMTP_PASSWORD") or None)


def mail_from() -> str:
    return os.environ.get("MAIL_FROM", formataddr(("Northwind Gadgets Support", "support@example.com")))


def _message(mail: OutboxMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = mail_from(), mail.to_addr, mail.subject
    # A stable Message-ID: if a crash makes us send twice, mail clients still show it once.
    msg["Message-ID"] = f"<outbox-{mail.id}@careregistry.local>"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


def deliver_due(sender=None, now: datetime | None = None, limit: int = 50) -> int:
    """Send what is due; returns how many were sent."""
    sender = sender or sender_from_env()
    now = now or utcnow()
    with session_scope() as s:
        due = list(s.scalars(select(OutboxMail.id).where(
            OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= now,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        ).order_by(OutboxMail.id).limit(limit)))
    sent = 0
    for mail_id in due:
        with session_scope() as s:  # claim it, so a second worker leaves it alone
            claimed = s.execute(update(OutboxMail).where(
                OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None),
                or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
            ).values(claimed_until=now + CLAIM)).rowcount
            mail = s.get(OutboxMail, mail_id) if claimed else None
            message = _message(mail) if mail else None
        if message is None:
            continue
        try:
            sender.send(message)
        except (OSError, smtplib.SMTPException) as err:
            _failed(mail_id, now, err)
            continue
        with session_scope() as s:
            s.execute(update(OutboxMail).where(OutboxMail.id == mail_id)
                      .values(sent_at=utcnow(), claimed_until=None, attempts=OutboxMail.attempts + 1))
        sent += 1
        log.info("mail sent id=%s kind=%s", mail_id, mail.kind)
    return sent


def _failed(mail_id: int, now: datetime, err: Exception) -> None:
    with session_scope() as s:
        mail = s.get(OutboxMail, mail_id)
        mail.attempts += 1
        backoff = min(timedelta(seconds=15 * 2 ** min(mail.attempts, 10)), MAX_BACKOFF)
        mail.next_attempt_at, mail.claimed_until = now + backoff, None
        mail.last_error = f"{type(err).__name__}: {err}"[:500]
        if now - mail.created_at > GIVE_UP_AFTER:
            log.error("mail undeliverable id=%s to=%s error=%s", mail_id, mail.to_addr, mail.last_error)
        else:
            log.warning("mail delivery failed id=%s attempt=%s retry_in=%ss error=%s", mail_id, mail.attempts,
                        int(backoff.total_seconds()), mail.last_error)


def recent(limit: int = 100) -> list[dict]:
    with session_scope() as s:
        rows = s.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit))
        return [{"id": m.id, "to": m.to_addr, "subject": m.subject, "kind": m.kind, "text": m.text,
                 "sent_at": m.sent_at, "attempts": m.attempts, "last_error": m.last_error,
                 "created_at": m.created_at} for m in rows]
