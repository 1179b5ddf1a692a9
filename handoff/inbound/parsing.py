"""One inbound mail read into what the service needs: who, about what, the new words and the whole text.

Built on the standard library's `email` package (policy.default). Charsets a message names but Python
does not know, and bodies that do not decode, fall back to a lenient decoding rather than fail: a
customer's words with a wrong accent beat a lost mail. Quoted history and signatures are stripped by
mail-parser-reply; the whole text is kept for staff. HTML is sanitised by nh3 (Ammonia).
"""
from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import nh3
from mailparser_reply import EmailReplyParser

_REPLY_PARSER = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl"])
_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*>")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_ADDRESS = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,253}$")
# Undecodable bytes come through as lone surrogates, and NUL ends strings in PostgreSQL: neither is text.
_NOT_TEXT = re.compile(r"[\ud800-\udfff\x00]")


def _text(value: str) -> str:
    return _NOT_TEXT.sub("\ufffd", value)


class Unreadable(Exception):
    """The message cannot be taken as a customer's mail (no sender, no body we can read)."""


@dataclass
class Parsed:
    from_addr: str
    from_name: str | None
    subject: str
    message_id: str | None
    references: list[str]  # In-Reply-To and References, in that order
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To, lower case
    text: str  # the new words: quotes and signature stripped
    original: str  # the whole body as text
    html: str | None  # sanitised, when the mail had HTML
    headers: EmailMessage = field(repr=False, default=None)
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (name as sent, content)


def dedupe_key(raw: bytes, message_id: str | None) -> str:
    """The same mail fetched twice gives the same key: its Message-ID, else its bytes."""
    basis = f"mid:{message_id.strip().lower()}" if message_id else "raw:" + hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID, read as leniently as possible (for the dedupe key of an unreadable mail too)."""
    try:
        value = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True).get("Message-ID")
    except Exception:
        return None
    found = _MESSAGE_ID.search(str(value or ""))
    return found.group(0)[:300] if found else None


def parse(raw: bytes) -> Parsed:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    try:
        name, addr = parseaddr(_text(str(msg.get("From", ""))))
    except Exception:
        name, addr = "", ""
    addr = addr.strip().lower()
    if not _ADDRESS.match(addr):
        raise Unreadable("no sender address (From)")
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    html = sanitise(_decoded(html_part)) if html_part is not None else None
    if text_part is not None:
        original = _decoded(text_part)
    elif html_part is not None:
        original = html_to_text(html)
    else:
        original = ""
    original = _text(original.replace("\r\n", "\n")).strip()
    html = _text(html) if html is not None else None
    return Parsed(
        from_addr=addr, from_name=" ".join(name.split())[:120] or None,
        subject=_text(" ".join(str(msg.get("Subject", "") or "").split())),
        message_id=message_id_of(raw),
        references=_MESSAGE_ID.findall(f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}"),
        recipients=_recipients(msg), text=new_words(original), original=original, html=html, headers=msg,
        files=_files(msg))


def _files(msg: EmailMessage) -> list[tuple[str, bytes]]:
    found = []
    for number, part in enumerate(msg.iter_attachments(), 1):
        try:
            data = part.get_payload(decode=True)
            if data is None:  # a forwarded mail (message/rfc822): keep it whole
                data = part.as_bytes()
            found.append((part.get_filename() or f"attachment-{number}", data))
        except Exception:  # one broken part must not cost the rest of the mail
            continue
    return found


def _recipients(msg: EmailMessage) -> list[str]:
    values = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        values += [str(v) for v in msg.get_all(name, [])]
    return [a.lower() for _n, a in getaddresses(values) if a]


def _decoded(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # An unknown or wrong charset: keep the words in the likeliest readable form.
        payload = part.get_payload(decode=True) or b""
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("cp1252", errors="replace")


def new_words(text: str) -> str:
    """What the sender wrote now: without the quoted mail below it and without their signature."""
    try:
        replies = _REPLY_PARSER.read(text=text).replies
        stripped = replies[0].body.strip() if replies else ""
    except Exception:  # the library's guesswork must never cost a mail
        stripped = ""
    lines = (stripped or text).splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()  # quoted history without an "On ... wrote:" line above it
    return "\n".join(lines).strip() or text


def sanitise(html: str) -> str:
    """Markup safe to show staff: no scripts, styles, event handlers or remote images (they track reading)."""
    return nh3.clean(html, tags=nh3.ALLOWED_TAGS - {"img"}, link_rel="noopener noreferrer nofollow")


def html_to_text(html: str) -> str:
    plain = nh3.clean(_BLOCK_END.sub("\n", html), tags=set())
    lines = [" ".join(line.split()) for line in html_lib.unescape(plain).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
