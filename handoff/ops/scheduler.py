"""Background jobs of a serving process: deliver the outbox, route waiting work, run the ticket automations,
watch SLA timers, back up daily, tell admins when mail has stopped flowing, learn triage from agents' corrections.

All are safe to run in several processes at once: mails are claimed before sending, every automation is
a conditional change, and the backup takes a file lock, so nothing is done twice.
"""
from __future__ import annotations

import functools
import logging
import os
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from handoff import db
from handoff.chat import assignment
from handoff.chat import deadlines as chat_deadlines
from handoff.config import Config
from handoff.mail import health, outbox
from handoff.ops import backups
from handoff.realtime import off_the_loop
from handoff.routing import policy, triage_model
from handoff.tickets import automations, deadlines, lifecycle

log = logging.getLogger("careregistry.scheduler")


def _days(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def run_automations() -> None:
    automations.run(resolved_close_days=_days("RESOLVED_CLOSE_DAYS", 4),
                    pending_remind_days=_days("PENDING_REMIND_DAYS", 3),
                    pending_resolve_days=_days("PENDING_RESOLVE_DAYS", 4))


def backup_job(settings: Config):
    def run_backup() -> None:
        # Copying and checking the database is seconds of disk and CPU: on a thread of its own, not the loop.
        url = db.engine().url.render_as_string(hide_password=False)
        off_the_loop(functools.partial(backups.run_due, url, Path(settings.BACKUP_DIR), hour=settings.BACKUP_HOUR,
                                       daily_keep=settings.BACKUP_DAILY_KEEP, weekly_keep=settings.BACKUP_WEEKLY_KEEP,
                                       files=Path(settings.ATTACHMENT_DIR)))
    return run_backup


def route_work() -> None:
    """Lapsed offers, offline agents' chats and waiting tickets (what the processes' own timers missed)."""
    assignment.sweep()
    lifecycle.route_waiting()


def watch_sla() -> None:
    """Timers nearing or past their due time: announced once each, escalated at a breach."""
    deadlines.watch()
    chat_deadlines.watch()


def _guarded(job):
    def run():
        try:
            job()
        except Exception:  # a failing job must not stop the scheduler; it runs again next time
            log.exception("job failed job=%s", job.__name__)
    run.__name__ = run.__qualname__ = job.__name__  # the name APScheduler logs and lists
    return run


def start() -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(_guarded(outbox.deliver_due), "interval", seconds=float(os.environ.get("MAIL_INTERVAL", 10)),
                      max_instances=1, coalesce=True)
    scheduler.add_job(_guarded(run_automations), "interval", minutes=10, max_instances=1, coalesce=True)
    scheduler.add_job(_guarded(health.alert_admins), "interval", minutes=5, max_instances=1, coalesce=True)
    settings = Config()
    policy.configure(settings.as_flask())
    scheduler.add_job(_guarded(route_work), "interval", seconds=float(os.environ.get("ROUTING_SWEEP_INTERVAL", 10)),
                      max_instances=1, coalesce=True)
    scheduler.add_job(_guarded(watch_sla), "interval", seconds=settings.SLA_INTERVAL, max_instances=1, coalesce=True)
    triage_model.configure(settings.as_flask())
    # Learns from agents' triage corrections: at start (the model lives in this process only), then when
    # corrections come in. The fit runs off the loop.
    scheduler.add_job(_guarded(triage_model.refresh), "interval", seconds=60, max_instances=1, coalesce=True,
                      next_run_time=datetime.now())
    if settings.BACKUP_HOUR is not None:  # a cheap check every 10 minutes; the backup itself once a day
        scheduler.add_job(_guarded(backup_job(settings)), "interval", minutes=10, max_instances=1, coalesce=True)
    scheduler.start()
    log.info("scheduler started")
    return scheduler
