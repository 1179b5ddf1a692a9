"""Automations over quiet tickets: resolved ones close, pending ones get a reminder and then are resolved."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from handoff.db import session_scope
from handoff.models import Ticket, utcnow

from .lifecycle import add_event, mail_customer

log = logging.getLogger("careregistry.tickets")


def run(now=None, resolved_close_days: float = 4, pending_remind_days: float = 3,
        pending_resolve_days: float = 4) -> dict:
    """Resolved tickets that went quiet close; pending ones get one reminder, then are resolved.

    Each step is a conditional change, so running twice does nothing twice. Every handoff process runs
    this, and on PostgreSQL two runs overlap: each locks the tickets it takes and skips those the other
    holds, or both would close a ticket and mail its customer (SQLite, one writer at a time, ignores this).
    """
    now = now or utcnow()
    due = select(Ticket).with_for_update(skip_locked=True, of=Ticket)
    done = {"closed": 0, "reminded": 0, "resolved": 0}
    with session_scope() as s:
        for t in s.scalars(due.where(Ticket.status == "resolved",
                                     Ticket.status_changed_at <= now - timedelta(days=resolved_close_days))):
            t.status, t.status_changed_at = "closed", now
            add_event(s, t, "status_changed", "system", old="resolved", new="closed", automatic=True)
            mail_customer(s, t, "auto_closed")
            done["closed"] += 1
        for t in s.scalars(due.where(Ticket.status == "pending", Ticket.reminder_sent_at.is_(None),
                                     Ticket.status_changed_at <= now - timedelta(days=pending_remind_days))):
            t.reminder_sent_at = now
            add_event(s, t, "reminder", "system", public=False)
            mail_customer(s, t, "pending_reminder")
            done["reminded"] += 1
        for t in s.scalars(due.where(Ticket.status == "pending", Ticket.reminder_sent_at.is_not(None),
                                     Ticket.reminder_sent_at <= now - timedelta(days=pending_resolve_days))):
            t.status, t.status_changed_at = "resolved", now
            add_event(s, t, "status_changed", "system", old="pending", new="resolved", automatic=True)
            mail_customer(s, t, "ticket_resolved")
            done["resolved"] += 1
    if any(done.values()):
        log.info("ticket automations closed=%s reminded=%s resolved=%s", *done.values())
    return done
