"""Log-in throttling per account and per address, kept in the database so every process agrees."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, or_, select

from handoff.db import session_scope
from handoff.errors import ServiceError
from handoff.models import LoginAttempt, utcnow

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5
PER_ADDRESS = 20


class TooManyAttempts(ServiceError):
    status = 429


def guarded(email, address: str, verify) -> dict:
    """Log someone in under the throttle: `verify(account)` returns the person, or None for a wrong password.

    Refuses with 429 after too many failures for the account or the address, 401 for wrong credentials.
    """
    account = email.strip().lower()[:254] if isinstance(email, str) else ""
    check(account, address)
    person = verify(account) if account else None
    if person is None:
        failed(account, address)
        raise ServiceError("Wrong email or password.", 401)
    succeeded(account)
    return person


def check(account: str, address: str) -> None:
    since = utcnow() - WINDOW
    with session_scope() as s:
        by_account = s.scalar(select(func.count()).where(LoginAttempt.account == account,
                                                         LoginAttempt.created_at > since))
        by_address = s.scalar(select(func.count()).where(LoginAttempt.address == address,
                                                         LoginAttempt.created_at > since))
    if by_account >= PER_ACCOUNT or by_address >= PER_ADDRESS:
        raise TooManyAttempts("Too many failed log-ins. Please wait 15 minutes and try again, "
                              "or reset your password.")


def failed(account: str, address: str) -> None:
    with session_scope() as s:
        s.add(LoginAttempt(account=account[:254], address=address[:64]))
        s.execute(delete(LoginAttempt).where(LoginAttempt.created_at < utcnow() - 4 * WINDOW))


def succeeded(account: str) -> None:
    with session_scope() as s:
        s.execute(delete(LoginAttempt).where(or_(LoginAttempt.account == account)))
