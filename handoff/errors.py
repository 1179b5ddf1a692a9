"""Errors a user can meet, each a plain sentence; one JSON shape for every HTTP error."""
from __future__ import annotations

import logging
import re
import unicodedata
from datetime import date, datetime, timedelta

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("careregistry.errors")


class ServiceError(Exception):
    """A refusal the caller should see: bad input, wrong id, not allowed, lost race."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


# Bidi embeddings, overrides and isolates make text display in another order than it is stored
# ("Trojan Source"); plain right-to-left writing does not need them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Letters that draw nothing, which Unicode nevertheless files as letters or symbols.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Categories that draw nothing by themselves: controls, formats (zero-width), separators, marks.
_INVISIBLE = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"}


def _visible(ch: str) -> bool:
    return ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _INVISIBLE


def clean_text(value, max_chars: int = 4000, what: str = "message", one_line: bool = False) -> str:
    """Text as a person typed it: no control characters or bidi overrides, at least one visible character.

    `one_line` folds every line break and run of spaces into one space (subjects, names: mail headers).
    """
    if not isinstance(value, str):
        raise ServiceError(f"The {what} must be text.")
    if _SURROGATE.search(value):  # half of an emoji's pair: it cannot be stored or shown
        raise ServiceError(f"The {what} contains a broken character (half of an emoji?); please type it again.")
    text = _BIDI.sub("", _CONTROL.sub("", value))
    text = " ".join(text.split()) if one_line else text.strip()
    if not text:
        raise ServiceError(f"The {what} is empty.")
    if not any(_visible(ch) for ch in text):
        raise ServiceError(f"The {what} has no visible characters.")
    if len(text) > max_chars:
        raise ServiceError(f"The {what} is too long: {len(text)} characters, the limit is {max_chars}.")
    return text


def clean_email(value) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()) or len(value) > 254:
        raise ServiceError("That does not look like an email address, e.g. name@example.com.")
    return value.strip().lower()


_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
MAX_TAGS = 10


def clean_tags(value) -> list[str]:
    """Labels such as "vip" or "refund-2024": a list or a comma-separated string, lower-cased, unique."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None or not all(isinstance(t, str) for t in items):
        raise ServiceError("Tags are a list of words.")
    tags = list(dict.fromkeys(t.strip().lower().lstrip("#") for t in items if t.strip()))
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        raise ServiceError(f"“{bad[0][:30]}” is not a tag: use letters, digits, - or _, up to 30 characters.")
    if len(tags) > MAX_TAGS:
        raise ServiceError(f"At most {MAX_TAGS} tags.")
    return tags


def clean_client_id(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise ServiceError("client_msg_id must be 1 to 64 letters, digits, '-', '_', '.' or ':'.")
    return value


def clean_int(value, what: str) -> int:
    if isinstance(value, bool):
        raise ServiceError(f"{what} must be a number.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 12:
        return int(value)
    raise ServiceError(f"{what} must be a number.")


def clean_day(value: str | None, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as the start of that day (or of the next, for an inclusive end)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ServiceError("Dates are written YYYY-MM-DD.") from None
    return datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time())


def require_dict(data) -> dict:
    if not isinstance(data, dict):
        raise ServiceError("The event payload must be a JSON object.")
    return data


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/healthz", "/chat/files")) \
        or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    def respond(code: int, message: str, description: str = ""):
        if _wants_json():
            return jsonify({"code": code, "message": message, "description": description}), code
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(ServiceError)
    def service_error(err: ServiceError):
        return respond(err.status, err.message)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        return respond(err.code or 500, err.name, err.description or "")

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error path=%s", request.path)
        return respond(500, "Something went wrong on our side. Please try again.")
