"""Log-in throttling per account, kept in the database so every process agrees.

An attempt is recorded before the password is checked, in the transaction that counts the earlier ones,
so parallel guesses cannot all pass the count before any of them is recorded. Only the account's
failures lock it (as Zendesk does); an address that guesses is slowed by the per-address request rate
on the log-in forms (views/limits.py), which never refuses a correct password for a whole window.
"""
from __future__ import annotations

import zlib
from datetime import timedelta

from sqlalchemy import delete, func, select, text

from handoff.db import session_scope
from handoff.errors import ServiceError
from handoff.models import LoginAttempt, utcnow

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5


class TooManyAttempts(ServiceError):
    status = 429


def guarded(email, address: str, verify) -> dict:
    """Log someone in under the throttle: `verify(account)` returns the person, or None for a wrong password.

    Refuses with 429 after too many failures for the account, 401 for wrong credentials.
    """
    account = email.strip().lower()[:254] if isinstance(email, str) else ""
    _record(account, address)
    person = verify(account) if account else None
    if person is None:
        raise ServiceError("Wrong email or password.", 401)
    succeeded(account)
    return person


def _record(account: str, address: str) -> None:
    """Count this attempt among the account's recent ones, or refuse it; one transaction, serialised per account."""
    now = utcnow()
    with session_scope() as s:
        if s.get_bind().dialect.name == "postgresql":
            # Read committed lets two transactions each miss the other's new row; take turns per account.
            # (SQLite needs nothing: the INSERT below holds the database's only write lock until commit.)
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                      {"key": zlib.crc32(b"login:" + account.encode()) - 2 ** 31})
        row = LoginAttempt(account=account, address=address[:64], created_at=now)
        s.add(row)
        s.flush()
        recent = s.scalar(select(func.count()).where(LoginAttempt.account == account,
                                                     LoginAttempt.created_at > now - WINDOW))
        if recent > PER_ACCOUNT:  # raising rolls this attempt back: a refusal is not counted
            raise TooManyAttempts("Too many failed log-ins. Please wait 15 minutes and try again, "
                                  "or reset your password.")
        s.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - 4 * WINDOW))


def succeeded(account: str) -> None:
    """A correct password clears the account's failures (and the attempt just recorded, which was not one)."""
    with session_scope() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.account == account))


def clear(account: str) -> None:
    """Forget an account's failures, e.g. once its owner has proven themselves by a reset link."""
    succeeded(account.strip().lower()[:254])
