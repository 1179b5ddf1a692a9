"""Email: an outbox committed with the change that caused it, and a worker that delivers it.

`queue()` is called inside the caller's transaction, so a mail exists exactly when its cause does.
`deliver_due()` claims due mails, sends them by SMTP (or into a folder when no SMTP server is configured),
and retries failures with capped exponential backoff, so mail held up by an outage arrives soon after.

Delivery is at least once: a mail is marked sent right after the server accepts it, and is claimed for
`CLAIM` before the attempt, so only a process that dies between the server's acceptance and that mark
sends it again, once the claim has expired, with the same Message-ID for receivers to recognise the copy.
A mail that cannot be sent at all (refused address, unusable content) is given up at once; any other
failure is retried for `GIVE_UP_AFTER`. Either way the rest of the outbox keeps moving.
"""
from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from handoff.config import PROJECT_ROOT, VAR_DIR, public_url
from handoff.db import session_scope
from handoff.models import OutboxMail, Ticket, utcnow

log = logging.getLogger("careregistry.mail")
_templates = Environment(loader=FileSystemLoader(PROJECT_ROOT / "web" / "templates" / "email"),
                         autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
MAX_BACKOFF = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(days=3)
CLAIM = timedelta(minutes=2)
# next_attempt_at of a mail that will never be sent: past every "due" query, without a status column.
GAVE_UP = datetime(9999, 1, 1)
MAX_SUBJECT = 300  # the column's size
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ADDRESS = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,253}$")


def one_line(value: str) -> str:
    """A header value on one line: a CR/LF in a header could add headers, and email refuses to build it."""
    return " ".join(_BREAKS.sub(" ", value).split())


def render(kind: str, context: dict) -> tuple[str, str, str]:
    context = {"portal_url": public_url() + "/portal", "base_url": public_url(), **context}
    subject = _templates.get_template(f"{kind}.subject.txt").render(context).strip()
    return subject, _templates.get_template(f"{kind}.txt").render(context), \
        _templates.get_template(f"{kind}.html").render(context)


def queue(s: Session, to_addr: str | None, kind: str, *, coalesce_key: str | None = None,
          hold: timedelta = timedelta(0), thread: Ticket | None = None, files: list[dict] | None = None,
          **context) -> OutboxMail | None:
    """Add a mail to the outbox in the caller's transaction (nothing is queued without an address).

    A mail with a `coalesce_key` replaces the unsent, unclaimed mail with that key, and waits `hold`
    before it goes, so a change made and corrected within that time reaches the recipient once.
    A mail with a `thread` is answered onto that ticket: its Reply-To carries the ticket's reply token.
    `files` ({"name", "type", "path"}) are attached when it is sent.
    """
    if not to_addr:
        return None
    if not _ADDRESS.match(to_addr):
        # Addresses are checked where they are entered; one that is not sendable must not fail its cause.
        log.warning("mail not queued kind=%s reason=unsendable_address", kind)
        return None
    subject, text, html = render(kind, context)
    subject = one_line(subject)[:MAX_SUBJECT] or "(no subject)"
    now = utcnow()
    if coalesce_key is not None:
        replaced = s.execute(delete(OutboxMail).where(
            OutboxMail.coalesce_key == coalesce_key, OutboxMail.sent_at.is_(None),
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))).rowcount
        if replaced:
            log.info("mail coalesced kind=%s key=%s replaced=%s", kind, coalesce_key, replaced)
    mail = OutboxMail(to_addr=to_addr, subject=subject, text=text, html=html, kind=kind,
                      coalesce_key=coalesce_key, next_attempt_at=now + hold,
                      ticket_id=thread.id if thread is not None else None,
                      reply_to=reply_address(thread.reply_token) if thread is not None else None,
                      files=files or None)
    s.add(mail)
    return mail


class SmtpSender:
    def __init__(self, host: str, port: int, tls: str = "none", user: str | None = None,
                 password: str | None = None, timeout: float = 10):
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self.user, self.password = user, password

    def send(self, message: EmailMessage) -> None:
        if self.tls == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)
        except BaseException:
            client.close()
            raise
        # The server has taken the mail: a failed QUIT must not count as a failed delivery (and send it twice).
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


class FolderSender:
    """No SMTP server configured: keep each mail as an .eml file the demo can show."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        # Mails hold password-reset links: only the service's own user may read them.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        name = message["Message-ID"].strip("<>").split("@")[0]
        path = self.folder / f"{name}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(message))
        path.chmod(0o600)


def sender_from_env():
    host = os.environ.get("SMTP_HOST")
    if not host:
        return FolderSender(VAR_DIR / "mail")
    return SmtpSender(host, int(os.environ.get("SMTP_PORT", "25")), os.environ.get("SMTP_TLS", "none"),
                      os.environ.get("SMTP_USER") or None, os.environ.get("SMTP_PASSWORD") or None)


def mail_from() -> str:
    return os.environ.get("MAIL_FROM", formataddr(("Northwind Gadgets Support", "support@example.com")))


def support_address() -> str:
    """The address customers write to (INBOUND_ADDRESS, else MAIL_FROM's address)."""
    return (os.environ.get("INBOUND_ADDRESS") or parseaddr(mail_from())[1] or "support@example.com").lower()


def reply_address(token: str) -> str:
    """support+t<token>@domain: a reply to this address lands on the token's ticket."""
    local, _, domain = support_address().rpartition("@")
    return f"{local.split('+')[0]}+t{token}@{domain}"


def message_domain() -> str:
    return parseaddr(mail_from())[1].rpartition("@")[2] or "careregistry.local"


# Our own Message-IDs: <outbox-<id>.<created, to the second>@domain>; a reply names them in In-Reply-To.
OUR_MESSAGE_ID = re.compile(r"<?outbox-(\d+)\.(\d{14})@([^>\s]+)>?")


def _message(mail: OutboxMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = mail_from(), mail.to_addr, one_line(mail.subject)
    msg["Message-ID"] = message_id(mail)
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    if mail.kind != "agent_reply":
        # RFC 3834: notifications are automatic, so well-behaved auto-responders leave them unanswered.
        msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    for f in mail.files or []:
        maintype, _, subtype = (f.get("type") or "application/octet-stream").partition("/")
        # A file the disk lost fails the mail like any unusable content: retrying would not bring it back.
        msg.add_attachment(Path(f["path"]).read_bytes(), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=f.get("name") or "file")
    return msg


def message_id(mail: OutboxMail) -> str:
    """The same for every attempt at one mail, so a receiver can drop a copy; the creation time and the
    sender's domain keep it unique across installs and across a database started afresh."""
    return f"<outbox-{mail.id}.{mail.created_at:%Y%m%d%H%M%S}@{message_domain()}>"


def deliver_due(sender=None, now: datetime | None = None, limit: int = 50) -> int:
    """Send what is due; returns how many were sent. One mail failing, however, never stops the others."""
    sender = sender or sender_from_env()
    started = utcnow()
    now = now or started

    def clock() -> datetime:  # `now` moving on in real time: a claim taken late in a slow run still holds
        return now + (utcnow() - started)

    with session_scope() as s:
        due = list(s.scalars(select(OutboxMail.id).where(
            OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= now,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        ).order_by(OutboxMail.id).limit(limit)))
    sent = 0
    for mail_id in due:
        try:
            sent += _deliver(sender, mail_id, clock)
        except Exception:  # e.g. the database refused the bookkeeping: the claim runs out, it is tried again
            log.exception("mail delivery error id=%s", mail_id)
    return sent


def _deliver(sender, mail_id: int, clock) -> int:
    at = clock()
    with session_scope() as s:  # claim it, so another worker leaves it alone while we try
        claimed = s.execute(update(OutboxMail).where(
            OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= at,
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < at),
        ).values(claimed_until=at + CLAIM)).rowcount
        mail = s.get(OutboxMail, mail_id) if claimed else None
    if mail is None:
        return 0
    try:
        message = _message(mail)
    except Exception as err:  # the content itself is unusable: every retry would fail the same way
        _failed(mail_id, at, err, permanent=True)
        return 0
    try:
        sender.send(message)
    except smtplib.SMTPRecipientsRefused as err:
        permanent = all(500 <= code < 600 for code, _msg in err.recipients.values())
        _failed(mail_id, at, err, permanent=permanent)
        return 0
    except Exception as err:
        _failed(mail_id, at, err)
        return 0
    with session_scope() as s:
        s.execute(update(OutboxMail).where(OutboxMail.id == mail_id)
                  .values(sent_at=utcnow(), claimed_until=None, attempts=OutboxMail.attempts + 1))
    log.info("mail sent id=%s kind=%s", mail_id, mail.kind)
    return 1


def _failed(mail_id: int, now: datetime, err: Exception, permanent: bool = False) -> None:
    with session_scope() as s:
        mail = s.get(OutboxMail, mail_id)
        mail.attempts += 1
        mail.claimed_until = None
        mail.last_error = f"{type(err).__name__}: {err}"[:500]
        if permanent or now - mail.created_at > GIVE_UP_AFTER:
            mail.next_attempt_at = GAVE_UP
            log.error("mail undeliverable id=%s kind=%s attempts=%s error=%s", mail_id, mail.kind, mail.attempts,
                      mail.last_error)
            return
        backoff = min(timedelta(seconds=15 * 2 ** min(mail.attempts, 10)), MAX_BACKOFF)
        mail.next_attempt_at = now + backoff
        log.warning("mail delivery failed id=%s attempt=%s retry_in=%ss error=%s", mail_id, mail.attempts,
                    int(backoff.total_seconds()), mail.last_error)


def recent(limit: int = 100) -> list[dict]:
    with session_scope() as s:
        rows = s.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit))
        return [{"id": m.id, "to": m.to_addr, "subject": m.subject, "kind": m.kind, "text": m.text,
                 "sent_at": m.sent_at, "attempts": m.attempts, "last_error": m.last_error,
                 "gave_up": m.sent_at is None and m.next_attempt_at >= GAVE_UP,
                 "created_at": m.created_at} for m in rows]
