"""Per-address rates on the public forms (log-in, registration, password reset, tickets).

A refused form is answered 429 with a sentence saying how long to wait, before anything is stored or mailed.
The rates are settings (Config.RATES) and are counted by the app's `Rates` (handoff/chat/rates.py).
"""
from __future__ import annotations

import functools

from flask import current_app, request

from handoff.chat.rates import Rates, TooFast, wait_words
from handoff.people.auth import client_address

SLOW_DOWN = "Too many attempts from your network. Please wait {wait} and try again."


def rates() -> Rates:
    return current_app.extensions["rates"]


def limited(name: str, message: str = SLOW_DOWN):
    """Count each POST of the view against the rate `name` for the client's address."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if request.method == "POST":
                rates().require(name, client_address(), message=message)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def login_allowed() -> None:
    """Refuse a log-in from an address that has failed too often lately; correct passwords are not counted."""
    if not rates().allowed("login", client_address()):
        raise TooFast(SLOW_DOWN.format(wait=wait_words(rates().wait_seconds("login", client_address()))))


def login_failed() -> None:
    rates().hit("login", client_address())
