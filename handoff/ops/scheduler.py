"""Background jobs of a serving process: deliver the outbox, run the ticket automations.

Both jobs are safe to run in several processes at once: mails are claimed before sending and every
automation is a conditional change, so nothing is done twice.
"""
from __future__ import annotations

import logging
import os

from apscheduler.schedulers.background import BackgroundScheduler

from handoff.mail import outbox
from handoff.tickets import automations

log = logging.getLogger("careregistry.scheduler")


def _days(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def run_automations() -> None:
    automations.run(resolved_close_days=_days("RESOLVED_CLOSE_DAYS", 4),
                    pending_remind_days=_days("PENDING_REMIND_DAYS", 3),
                    pending_resolve_days=_days("PENDING_RESOLVE_DAYS", 4))


def _guarded(job):
    def run():
        try:
            job()
        except Exception:  # a failing job must not stop the scheduler; it runs again next time
            log.exception("job failed job=%s", job.__name__)
    run.__name__ = job.__name__
    return run


def start() -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(_guarded(outbox.deliver_due), "interval", seconds=float(os.environ.get("MAIL_INTERVAL", 10)),
                      max_instances=1, coalesce=True)
    scheduler.add_job(_guarded(run_automations), "interval", minutes=10, max_instances=1, coalesce=True)
    scheduler.start()
    log.info("scheduler started")
    return scheduler
