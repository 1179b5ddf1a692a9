"""Whether mail still flows both ways, for /admin and for the admins' alert.

Sending is read from the outbox itself (last mail accepted, backlog, the server's last refusal).
Fetching is what the inbound process reports here (last good poll, last failure in the server's words),
kept in the settings table so the web process sees the inbound process's state. Either direction failing
for FAILING_AFTER raises the admins' banner and one mail to them per failure episode (through the
outbox: if sending is what failed, that mail waits there with the rest and the banner is what shows).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select

from handoff.db import session_scope
from handoff.mail import outbox
from handoff.models import Agent, InboundMail, OutboxMail, Setting, utcnow

log = logging.getLogger("careregistry.mail")
FAILING_AFTER = timedelta(minutes=15)
KEY = "mail_health:{}"
_OK_EVERY = 60.0  # seconds between writes of "still fine": a poll every few seconds must not write each time
_last_ok_write: dict[str, float] = {}
_lock = threading.Lock()


def _read(s, way: str) -> dict:
    row = s.get(Setting, KEY.format(way))
    try:
        return json.loads(row.value) if row else {}
    except ValueError:
        return {}


def _write(s, way: str, state: dict) -> None:
    row = s.get(Setting, KEY.format(way))
    if row is None:
        s.add(Setting(key=KEY.format(way), value=json.dumps(state)))
    else:
        row.value = json.dumps(state)


def record(way: str, ok: bool, error: str | None = None) -> None:
    """The inbound process reports a poll ("fetch"): fine, or failed with the server's words."""
    now = time.monotonic()
    with _lock:
        if ok and now - _last_ok_write.get(way, -_OK_EVERY) < _OK_EVERY:
            return
        if ok:
            _last_ok_write[way] = now
        else:
            _last_ok_write.pop(way, None)
    try:
        with session_scope() as s:
            state = _read(s, way)
            at = utcnow().isoformat(timespec="seconds")
            if ok:
                state.update(last_ok=at, failing_since=None)
            else:
                state.update(last_error=(error or "")[:500], last_error_at=at,
                             failing_since=state.get("failing_since") or at)
            _write(s, way, state)
    except Exception:  # the database is what failed: the log has it, the page will show it is down
        log.exception("mail health not recorded way=%s", way)


def _since(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def status(now: datetime | None = None) -> dict:
    now = now or utcnow()
    with session_scope() as s:
        last_sent = s.scalar(select(func.max(OutboxMail.sent_at)))
        pending = select(OutboxMail).where(OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at < outbox.GAVE_UP)
        backlog = s.scalar(select(func.count()).select_from(pending.subquery()))
        failing_mail = s.scalars(pending.where(OutboxMail.attempts > 0).order_by(OutboxMail.id)).first()
        latest_error = s.scalars(pending.where(OutboxMail.last_error.is_not(None))
                                 .order_by(OutboxMail.id.desc())).first()
        fetch = _read(s, "fetch")
        last_in = s.scalar(select(func.max(InboundMail.received_at)))
        inbound_backlog = s.scalar(select(func.count(InboundMail.id)).where(InboundMail.status == "held"))
    # Sending fails from the first failed attempt of the oldest mail still waiting, unless a mail got out since.
    send_failing_since = failing_mail.created_at if failing_mail and (last_sent is None
                                                                       or last_sent < failing_mail.created_at) else None
    fetch_failing_since = _since(fetch.get("failing_since"))
    send = {"last_ok": last_sent, "backlog": backlog, "error": latest_error.last_error if latest_error else None,
            "failing_since": send_failing_since,
            "alarm": bool(send_failing_since and now - send_failing_since >= FAILING_AFTER)}
    fetch_state = {"configured": bool(fetch), "last_ok": _since(fetch.get("last_ok")), "last_mail": last_in,
                   "held": inbound_backlog, "error": fetch.get("last_error") if fetch_failing_since else None,
                   "failing_since": fetch_failing_since,
                   "alarm": bool(fetch_failing_since and now - fetch_failing_since >= FAILING_AFTER)}
    return {"send": send, "fetch": fetch_state, "alarm": send["alarm"] or fetch_state["alarm"]}


def alert_admins(now: datetime | None = None) -> int:
    """Mail every active admin once per failure episode of either direction; returns how many were queued."""
    state = status(now)
    queued = 0
    with session_scope() as s:
        alerted = _read(s, "alerted")
        for way in ("send", "fetch"):
            since = state[way]["failing_since"]
            if not state[way]["alarm"] or alerted.get(way) == since.isoformat():
                continue
            for admin in s.scalars(select(Agent).where(Agent.role == "admin", Agent.active.is_(True))):
                queued += outbox.queue(s, admin.email, "mail_health", name=admin.name, way=way,
                                       since=f"{since:%Y-%m-%d %H:%M}", error=state[way]["error"]) is not None
            alerted[way] = since.isoformat()
            log.warning("mail failing way=%s since=%s admins_alerted=%s", way, since.isoformat(), queued)
        _write(s, "alerted", alerted)
    return queued
