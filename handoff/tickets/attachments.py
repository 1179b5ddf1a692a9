"""Files on tickets: checked (count, size, type sniffed from the content), stored outside the web root,
and handed out only to whoever may see the message they came with.

Files live under ATTACHMENT_DIR (var/attachments), named by the SHA-256 of their content, 0600 in 0700
folders; the database holds who may see them. Being content-addressed they never change, which is what
lets a backup keep a mirror of the folder beside the database copies (ops/backups.py).
Only photos (PNG, JPEG, GIF, WebP) are ever shown in the page; everything else, HTML and SVG included,
is served as a download with nosniff, so a file can never run as part of our site.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

import filetype
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.config import VAR_DIR, Config
from handoff.db import session_scope
from handoff.errors import NotFound, ServiceError
from handoff.models import Attachment, Ticket, TicketEvent

PREVIEW_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
EXECUTABLE_TYPES = {"application/x-msdownload", "application/x-executable", "application/x-mach-binary",
                    "application/x-sharedlib", "application/x-elf", "application/x-script",
                    "application/x-shockwave-flash", "application/x-google-chrome-extension", "application/x-deb",
                    "application/x-rpm"}
# Names Windows or a desktop would run on a double click, whatever the content says.
EXECUTABLE_NAMES = re.compile(r"(?i)\.(exe|com|bat|cmd|scr|pif|msi|msp|dll|cpl|js|jse|vbs|vbe|wsf|wsh|ps1|hta|jar|"
                              r"lnk|reg|sh|app|apk|appimage|run|desktop)$")
_NAME_DROP = re.compile(r"[\x00-\x1f\x7f/\\\"<>:|?*]+")


class Upload(NamedTuple):
    name: str
    data: bytes


def _settings():
    return current_app.config if has_app_context() else Config().as_flask()


def limits() -> tuple[int, int]:
    """(most bytes per file, most files per message), from the settings."""
    cfg = _settings()
    return int(cfg.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)), int(cfg.get("ATTACHMENT_MAX_COUNT", 5))


def folder() -> Path:
    return Path(_settings().get("ATTACHMENT_DIR") or VAR_DIR / "attachments")


def for_mail(kept: list[dict]) -> list[dict]:
    """What the outbox needs to send stored files with a mail: name, type and where the content is."""
    return [{"name": k["name"], "type": k["type"], "path": str(folder() / k["sha256"][:2] / k["sha256"])}
            for k in kept]


def sniff(data: bytes) -> str:
    """The type the content is, whatever its name claims."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return kind.mime
    head = data[:2048].lstrip().lower()
    if head.startswith(b"#!"):
        return "application/x-script"
    if head.startswith((b"<!doctype html", b"<html")) or b"<script" in head or b"<body" in head:
        return "text/html"
    if b"<svg" in head:
        return "image/svg+xml"
    if b"\x00" not in data[:8192]:
        try:
            data[:8192].decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            pass
    return "application/octet-stream"


def clean_name(name: str | None) -> str:
    name = unicodedata.normalize("NFC", str(name or ""))
    name = _NAME_DROP.sub("_", name.replace("\u202e", "")).strip(" ._") or "file"
    return name[-120:]


def check(uploads: list[Upload]) -> list[Upload]:
    """The uploads, or a refusal naming the file and the limit (nothing is stored then)."""
    max_bytes, max_count = limits()
    uploads = [u for u in uploads if u.data or u.name]
    if len(uploads) > max_count:
        raise ServiceError(f"You can attach at most {max_count} files to one message.")
    for u in uploads:
        name = clean_name(u.name)
        if not u.data:
            raise ServiceError(f"“{name}” is empty.")
        if len(u.data) > max_bytes:
            raise ServiceError(f"“{name}” is too large: {_size(len(u.data))}; the limit is {_size(max_bytes)}.")
        if sniff(u.data) in EXECUTABLE_TYPES or EXECUTABLE_NAMES.search(name):
            raise ServiceError(f"“{name}” is a program or script; for everyone's safety we do not accept those.")
    return [Upload(clean_name(u.name), u.data) for u in uploads]


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(n // 1024, 1)} KB"


def _write(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    root = folder()
    sub = root / digest[:2]
    sub.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    path = sub / digest
    if not path.exists():  # the same content twice is one file
        tmp = sub / f".{digest}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return digest


def store(s: Session, ticket: Ticket, uploads: list[Upload], uploaded_by: str, public: bool = True) -> list[dict]:
    """Keep checked uploads on the ticket in the caller's transaction; returns what an event lists."""
    return keep(s, uploads, uploaded_by, ticket_id=ticket.id, public=public)


def keep(s: Session, uploads: list[Upload], uploaded_by: str, *, ticket_id: int | None = None,
         message_id: int | None = None, public: bool = True) -> list[dict]:
    """Keep checked uploads on a ticket or a chat message in the caller's transaction."""
    kept = []
    for u in uploads:
        content_type = sniff(u.data)
        a = Attachment(ticket_id=ticket_id, message_id=message_id, name=u.name, content_type=content_type,
                       size=len(u.data), sha256=_write(u.data), uploaded_by=uploaded_by, public=public)
        s.add(a)
        s.flush()
        kept.append(summary(a) | {"sha256": a.sha256})
    return kept


def summary(a: Attachment) -> dict:
    """What a client shows of a file: never where it is stored."""
    return {"id": a.id, "name": a.name, "type": a.content_type, "size": a.size,
            "preview": a.content_type in PREVIEW_TYPES}


def attach_to_event(s: Session, event: TicketEvent, kept: list[dict]) -> None:
    if kept:
        event.data = {**(event.data or {}), "attachments": kept}
        for a in s.scalars(select(Attachment).where(Attachment.id.in_([k["id"] for k in kept]))):
            a.event_id = event.id


class Served(NamedTuple):
    path: Path
    name: str
    content_type: str
    inline: bool


def served(a: Attachment) -> Served:
    path = folder() / a.sha256[:2] / a.sha256
    if not path.exists():
        raise NotFound("This file is no longer stored.")
    return Served(path, a.name, a.content_type, a.content_type in PREVIEW_TYPES)


def for_customer(attachment_id: int, customer_id: int) -> Served:
    with session_scope() as s:
        a = s.get(Attachment, attachment_id)
        if a is None or a.ticket_id is None or not a.public or s.get(Ticket, a.ticket_id).customer_id != customer_id:
            raise NotFound("There is no such file.")
        return served(a)


def for_staff(attachment_id: int, may_see) -> Served:
    """`may_see(ticket)`: the caller's rule for which tickets this member of staff may see."""
    with session_scope() as s:
        a = s.get(Attachment, attachment_id)
        if a is None or a.ticket_id is None or not may_see(s.get(Ticket, a.ticket_id)):
            raise NotFound("There is no such file.")
        return served(a)
