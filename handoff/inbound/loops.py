"""Mail no person wrote, which must never be answered: that is how two robots mail each other forever.

RFC 3834 (Auto-Submitted), the older Precedence and X-Autoreply headers, bounces (mailer-daemon,
postmaster, an empty return path, delivery reports), mailing lists, and our own mail coming back.
"""
from __future__ import annotations

from email.message import EmailMessage

from handoff.mail import outbox

_ROBOT_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")


def automatic(msg: EmailMessage, from_addr: str, message_id: str | None) -> str | None:
    """Why this mail is not a person's, or None when it is."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "List-Id"):
        if msg.get(header) is not None:
            return f"{header} header"
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return "bounce (empty return path)"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    local, _, domain = from_addr.partition("@")
    if local in _ROBOT_SENDERS:
        return f"sender {local}"
    ours = outbox.support_address()
    if from_addr == ours or (domain == ours.partition("@")[2] and local.split("+")[0] == ours.partition("@")[0]):
        return "our own address"
    found = outbox.OUR_MESSAGE_ID.fullmatch(message_id or "")
    if found and found.group(3).lower() == outbox.message_domain().lower():
        return "our own Message-ID"
    return None
