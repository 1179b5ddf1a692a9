"""Every serving process schedules the daily backup check, unless the operator turned it off."""
from __future__ import annotations

import pytest

from handoff.ops import scheduler


@pytest.mark.parametrize("hour, scheduled", [(None, True), ("5", True), ("off", False)])
def test_the_backup_job_is_scheduled_unless_turned_off(app, monkeypatch, hour, scheduled):
    if hour is None:
        monkeypatch.delenv("BACKUP_HOUR", raising=False)
    else:
        monkeypatch.setenv("BACKUP_HOUR", hour)
    jobs = scheduler.start()
    try:
        assert ("run_backup" in [j.name for j in jobs.get_jobs()]) is scheduled
    finally:
        jobs.shutdown(wait=False)


def test_the_backup_job_backs_up_the_database_the_process_uses(app, tmp_path, monkeypatch):
    from handoff.config import Config

    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "b"))
    scheduler.backup_job(Config())()
    assert len(list((tmp_path / "b").glob("auto-*.db"))) == 1


def test_an_idle_scheduler_writes_nothing_to_the_log(app, monkeypatch, caplog):
    """Jobs that find nothing to do (an empty outbox, no SLA timer due, every interval) leave the log alone."""
    import logging
    import time

    monkeypatch.setenv("MAIL_INTERVAL", "0.2")
    monkeypatch.setenv("SLA_INTERVAL", "0.2")
    jobs = scheduler.start()
    try:
        caplog.clear()
        with caplog.at_level(logging.INFO):  # as the service logs (LOG_LEVEL=INFO)
            time.sleep(1.2)  # about six runs of the outbox job
    finally:
        jobs.shutdown(wait=False)
    # Warnings are findings (a run that overran its interval on this busy machine); routine lines are not.
    routine = [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING]
    assert routine == []
