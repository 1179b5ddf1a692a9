"""Backups taken with the CLI restore what was there, and a bad file changes nothing."""
from __future__ import annotations

from click.testing import CliRunner

from handoff.chat import conversations
from handoff.db import session_scope
from handoff.models import Message
from handoff.ops import cli


def run(app, *args):
    result = CliRunner().invoke(cli.main, list(args), obj=_script_info(app), catch_exceptions=False)
    return result


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def texts(cid):
    with session_scope() as s:
        return [m.text for m in s.query(Message).filter_by(conversation_id=cid).order_by(Message.id)]


def test_backup_then_restore_brings_back_what_was_there(app, tmp_path):
    cid = conversations.open_for_visitor("backup-visitor-1")
    conversations.post_customer_message(cid, "before the backup", "b1")
    result = run(app, "backup", "--out", str(tmp_path / "b.db"))
    assert result.exit_code == 0 and "Backup written" in result.output
    conversations.post_customer_message(cid, "after the backup", "b2")
    assert texts(cid) == ["before the backup", "after the backup"]

    result = run(app, "restore", str(tmp_path / "b.db"), "--yes")
    assert result.exit_code == 0, result.output
    from handoff.db import init_engine

    init_engine(app.config["DATABASE_URL"])  # a restarted service opens the restored file
    assert texts(cid) == ["before the backup"]
    assert "before-restore" in result.output


def test_restoring_something_that_is_not_a_backup_changes_nothing(app, tmp_path):
    cid = conversations.open_for_visitor("backup-visitor-2")
    conversations.post_customer_message(cid, "keep me", "k1")
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a database" * 100)
    result = run(app, "restore", str(bogus), "--yes")
    assert result.exit_code == 1 and "not a" in result.output
    assert texts(cid) == ["keep me"]
    missing = run(app, "restore", str(tmp_path / "nope.db"), "--yes")
    assert missing.exit_code != 0


# --- file modes ---------------------------------------------------------------------------------------

def test_the_database_its_wal_and_backups_are_readable_only_by_the_service(tmp_path, fake_rasa):
    from tests.handoff.conftest import service_app

    app = service_app(f"sqlite:///{tmp_path / 'var' / 'care.db'}", fake_rasa)
    with app.app_context():
        conversations.post_customer_message(conversations.open_for_visitor("modes-visitor-1"), "hello", "m1")
        assert run(app, "backup", "--out", str(tmp_path / "var" / "backups" / "b.db")).exit_code == 0
    var = tmp_path / "var"
    assert (var / "care.db-wal").exists()
    for path in (var, var / "backups"):
        assert path.stat().st_mode & 0o777 == 0o700, path
    for path in (var / "care.db", var / "care.db-wal", var / "care.db-shm", var / "backups" / "b.db"):
        assert path.stat().st_mode & 0o777 == 0o600, path


# --- the daily job ------------------------------------------------------------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402

from handoff.ops import backups  # noqa: E402
from tests.fakes import at_once  # noqa: E402

DAY1 = datetime(2026, 11, 2, 3, 5, tzinfo=timezone.utc)  # a Monday, just after the default hour


def _auto(folder):
    return sorted(p.name for p in folder.glob("auto-*"))


def test_the_daily_job_backs_up_once_a_day_checks_it_and_records_it(app, tmp_path):
    url, folder = app.config["DATABASE_URL"], tmp_path / "backups"
    first = backups.run_due(url, folder, now=DAY1)
    assert first["ok"] and _auto(folder) == ["auto-20261102-030500.db"]
    assert backups.run_due(url, folder, now=DAY1 + timedelta(hours=20)) is None  # today's is done
    assert backups.run_due(url, folder, now=DAY1 + timedelta(hours=23, minutes=59))["ok"]  # tomorrow's 03:00
    backups.check(url, folder / "auto-20261102-030500.db")
    status = backups.read_status(folder)
    assert status["last_good"] == status["last_run"] and status["last_good"]["file"] == "auto-20261103-030400.db"
    assert (folder / "status.json").stat().st_mode & 0o777 == 0o600


def test_only_one_process_backs_up_at_a_time(app, tmp_path):
    url, folder = app.config["DATABASE_URL"], tmp_path / "backups"

    def attempt():
        try:
            return backups.run_due(url, folder, now=DAY1)
        except Exception as err:  # every process must get through, the loser doing nothing
            return repr(err)

    results = at_once([attempt] * 4)
    assert sorted(map(str, results)).count("None") == 3 and len(_auto(folder)) == 1, results


def test_seven_daily_and_four_weekly_copies_are_kept(app, tmp_path):
    url, folder = app.config["DATABASE_URL"], tmp_path / "backups"
    (folder).mkdir()
    (folder / "careregistry-20260101-000000.db").write_bytes(b"taken by hand: never pruned")
    for day in range(40):
        assert backups.run_due(url, folder, now=DAY1 + timedelta(days=day))["ok"]
    last = DAY1 + timedelta(days=39)  # Friday 2026-12-11
    daily = [f"auto-{(last - timedelta(days=n)):%Y%m%d}-030500.db" for n in range(7)]  # Sat 12-05 .. Fri 12-11
    weekly = ["auto-20261206-030500.db", "auto-20261129-030500.db", "auto-20261122-030500.db"]  # Sundays
    assert _auto(folder) == sorted(set(daily + weekly))
    assert (folder / "careregistry-20260101-000000.db").exists()


def test_a_failed_backup_is_recorded_retried_and_shown_to_admins(app, tmp_path, staff, make_agent):
    folder = tmp_path / "backups"
    app.config["BACKUP_DIR"] = str(folder)
    admin = staff(make_agent("Ada Admin", role="admin"))
    page = admin.get("/admin/").get_data(as_text=True)
    assert 'id="backup-none"' in page

    missing = f"sqlite:///{tmp_path / 'gone' / 'nothing.db'}"
    failed = backups.run_due(missing, folder, now=datetime.now(timezone.utc))
    assert failed["ok"] is False and "no database" in failed["error"] and not _auto(folder)
    page = admin.get("/admin/").get_data(as_text=True)
    assert 'id="backup-failed"' in page and "no database" in page

    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert backups.run_due(app.config["DATABASE_URL"], folder, now=later)["ok"]
    page = admin.get("/admin/").get_data(as_text=True)
    assert 'id="backup-failed"' not in page and 'id="backup-last-good"' in page and "auto-" in page


def test_restore_drill_a_backup_taken_under_load_restores_whole(app, tmp_path):
    """Writers keep adding messages while the backup runs; the backup restores into a fresh database
    that passes the integrity check, with each writer's messages a gap-free prefix (one moment in time),
    and a backup taken once the writers stop restores to exactly the same row counts."""
    import sqlite3
    import threading
    import time

    from sqlalchemy import text

    from handoff.db import connection_scope

    cids = [conversations.open_for_visitor(f"drill-visitor-{n}") for n in range(3)]
    with connection_scope() as conn:  # enough pages that a step-wise copy would be interrupted
        conn.execute(text("INSERT INTO messages (conversation_id, sender, text, buttons, created_at) "
                          "VALUES (:cid, 'customer', :text, '[]', CURRENT_TIMESTAMP)"),
                     [{"cid": cids[0], "text": "x" * 1000} for _ in range(2000)])
    stop, written, errors = threading.Event(), {cid: 0 for cid in cids}, []

    def writer(cid):
        try:
            while not stop.is_set():
                conversations.post_customer_message(cid, f"seq {written[cid] + 1}", f"w{written[cid] + 1}")
                written[cid] += 1
        except Exception as err:  # a writer refused while the backup runs is a failure of the drill
            errors.append(repr(err))

    threads = [threading.Thread(target=writer, args=(cid,)) for cid in cids]
    for t in threads:
        t.start()
    try:
        while sum(written.values()) < 30 and not errors:
            time.sleep(0.01)
        under_load = backups.run_due(app.config["DATABASE_URL"], tmp_path / "b", now=DAY1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert under_load["ok"], under_load
    assert errors == []

    def restored(backup, name):
        fresh = tmp_path / name
        backups.restore(f"sqlite:///{fresh}", backup)
        conn = sqlite3.connect(fresh)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
            seqs = {cid: [int(r[0].split()[1]) for r in conn.execute(
                "SELECT text FROM messages WHERE conversation_id=? AND text LIKE 'seq %' ORDER BY id", (cid,))]
                for cid in cids}
        finally:
            conn.close()
        return counts, seqs

    counts, seqs = restored(tmp_path / "b" / under_load["file"], "drill1.db")
    assert any(seqs.values()) and counts["messages"] < 2000 + sum(written.values()) + 10
    for cid, seq in seqs.items():
        assert seq == list(range(1, len(seq) + 1)) and len(seq) <= written[cid]

    quiet = backups.run_due(app.config["DATABASE_URL"], tmp_path / "b", now=DAY1 + timedelta(days=1))
    counts, seqs = restored(tmp_path / "b" / quiet["file"], "drill2.db")
    live = sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        assert counts == {t: live.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in counts}
    finally:
        live.close()
    assert {cid: len(seq) for cid, seq in seqs.items()} == written


def test_backup_status_command_reports_the_last_run(app, tmp_path):
    folder = tmp_path / "backups"
    app.config["BACKUP_DIR"] = str(folder)
    assert "No scheduled backup yet" in run(app, "backup-status").output
    backups.run_due(f"sqlite:///{tmp_path / 'gone' / 'x.db'}", folder, now=DAY1)
    failed = run(app, "backup-status")
    assert failed.exit_code == 1 and "Last run failed" in failed.output
    backups.run_due(app.config["DATABASE_URL"], folder, now=DAY1 + timedelta(hours=2))
    ok = run(app, "backup-status")
    assert ok.exit_code == 0 and "auto-20261102-050500.db" in ok.output


def test_restore_drill_on_postgresql(tmp_path, fake_rasa):
    """pg_dump taken while a writer runs, checked with pg_restore --list, restored into a fresh database:
    the writer's messages are a gap-free prefix, and a backup taken once it stops restores every table's
    row count exactly."""
    import threading

    import psycopg

    from tests.handoff.conftest import service_app
    from tests.scale.conftest import Postgres, _pg_bin

    if _pg_bin() is None:
        import pytest
        pytest.skip("PostgreSQL (initdb, pg_ctl in /usr/lib/postgresql/*/bin) is not installed")
    pg = Postgres(_pg_bin()).start()
    try:
        url = pg.create_database()
        app = service_app(url, fake_rasa)
        with app.app_context():
            cid = conversations.open_for_visitor("pg-drill-visitor")
            stop, written = threading.Event(), [0]

            def writer():
                while not stop.is_set():
                    conversations.post_customer_message(cid, f"seq {written[0] + 1}", f"p{written[0] + 1}")
                    written[0] += 1

            thread = threading.Thread(target=writer)
            thread.start()
            try:
                while written[0] < 20:
                    threading.Event().wait(0.01)
                under_load = backups.run_due(url, tmp_path / "b", now=DAY1)
            finally:
                stop.set()
                thread.join()
            quiet = backups.run_due(url, tmp_path / "b", now=DAY1 + timedelta(days=1))
        assert under_load["ok"] and quiet["ok"], (under_load, quiet)

        def contents(database_url):
            with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
                counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
                seq = [int(r[0].split()[1]) for r in conn.execute(
                    "SELECT text FROM messages WHERE conversation_id = %s ORDER BY id", (cid,))]
            return counts, seq

        fresh = pg.create_database()
        backups.restore(fresh, tmp_path / "b" / under_load["file"])
        _counts, seq = contents(fresh)
        assert seq and seq == list(range(1, len(seq) + 1))
        fresh = pg.create_database()
        backups.restore(fresh, tmp_path / "b" / quiet["file"])
        assert contents(fresh) == contents(url)
    finally:
        pg.stop()


def test_attached_files_are_backed_up_beside_the_database_and_put_back_on_restore(app, tmp_path):
    import stat
    from pathlib import Path

    from handoff.ops import backups as backup_module
    from handoff.tickets import attachments

    files = Path(app.config["ATTACHMENT_DIR"])
    with app.app_context():
        digest = attachments._write(b"%PDF-1.4 the receipt")
    result = run(app, "backup", "--out", str(tmp_path / "b" / "b.db"))
    assert result.exit_code == 0 and "Attached files: 1 new" in result.output
    mirrored = tmp_path / "b" / backup_module.FILES / digest[:2] / digest
    assert mirrored.read_bytes() == b"%PDF-1.4 the receipt" and stat.S_IMODE(mirrored.stat().st_mode) == 0o600
    assert backup_module.mirror_files(files, tmp_path / "b") == 0  # the next backup copies only new files
    (files / digest[:2] / digest).unlink()  # the disk lost it
    result = run(app, "restore", str(tmp_path / "b" / "b.db"), "--yes")
    assert result.exit_code == 0 and "1 attached files put back" in result.output
    assert (files / digest[:2] / digest).read_bytes() == b"%PDF-1.4 the receipt"
    assert backup_module.run_due(app.config["DATABASE_URL"], tmp_path / "daily", now=DAY1, files=files)["files_copied"] == 1
