"""The bot's settings an admin changes at run time: how often it may answer wrong, and its welcome."""
from __future__ import annotations

from sqlalchemy.orm import Session

from handoff.db import session_scope
from handoff.errors import ServiceError, clean_text
from handoff.models import Setting

from .calibration import DEFAULT_RISK, RISK_LEVELS

RISK_KEY = "faq_risk_one_in"
WELCOME_KEY = "bot_welcome"
DEFAULT_WELCOME = ("Hi! I can answer questions about orders, delivery, returns, refunds, your account and "
                   "our products, and open a ticket for you. A person is one message away: just say "
                   "\"talk to a person\".")
MAX_WELCOME = 500


def risk(s: Session) -> int:
    """At most 1 wrong answer in this many questions; a stored value no longer offered reads as the default."""
    row = s.get(Setting, RISK_KEY)
    try:
        value = int(row.value) if row else DEFAULT_RISK
    except ValueError:
        value = DEFAULT_RISK
    return value if value in RISK_LEVELS else DEFAULT_RISK


def set_risk(value) -> int:
    try:
        one_in = int(value)
    except (TypeError, ValueError):
        one_in = None
    if one_in not in RISK_LEVELS:
        raise ServiceError("Choose at most 1 wrong answer in " + ", ".join(map(str, RISK_LEVELS)) + " questions.")
    _store(RISK_KEY, str(one_in))
    return one_in


def welcome(s: Session | None = None) -> str:
    if s is None:
        with session_scope() as s:
            return welcome(s)
    row = s.get(Setting, WELCOME_KEY)
    return row.value if row and row.value.strip() else DEFAULT_WELCOME


def set_welcome(text) -> str:
    """An empty welcome goes back to the default one."""
    text = clean_text(text, MAX_WELCOME, "welcome message") if isinstance(text, str) and text.strip() else ""
    _store(WELCOME_KEY, text)
    return text or DEFAULT_WELCOME


def _store(key: str, value: str) -> None:
    with session_scope() as s:
        row = s.get(Setting, key)
        if row is None:
            s.add(Setting(key=key, value=value))
        else:
            row.value = value
