"""Backups of the database: a consistent copy taken while the service runs, and a checked restore.

SQLite uses the online backup API (no need to stop anything). PostgreSQL uses pg_dump / pg_restore.
`run_due()` is the daily job: one process at a time (a file lock) takes the day's backup, checks it,
keeps `daily_keep` daily and `weekly_keep` weekly copies, and records the outcome in `status.json` for
the admin page. Backups hold every customer's data: files are 0600 in a 0700 folder.

Attached files are content-addressed and never change, so each backup mirrors the attachments folder
into `attachments/` beside the database copies (new files only): every kept database copy finds its
files there, and `restore_files()` puts back any that are missing.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from handoff.errors import ServiceError

log = logging.getLogger("careregistry.backups")
STATUS = "status.json"
_AUTO = re.compile(r"^auto-(\d{8}-\d{6})\.(db|dump)$")
RETRY_FAILED_AFTER = timedelta(hours=1)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def default_name(url: str, folder: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return folder / f"careregistry-{stamp}{'.db' if _sqlite_path(url) else '.dump'}"


def _private(target: Path) -> None:
    """An empty file only the owner can read, in a folder only the owner can enter, to write the copy into."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    target.chmod(0o600)


def take(url: str, target: Path, progress=print) -> Path:
    _private(target)
    db = _sqlite_path(url)
    if db is not None:
        if not db.exists():
            raise ServiceError(f"There is no database at {db} yet: run `careregistry db upgrade` first.")
        source, copy = sqlite3.connect(db), sqlite3.connect(target)
        try:
            # In one step: a step-wise backup starts over whenever the service writes between steps, so
            # under steady load it never finished. One read transaction does not hold up WAL writers.
            source.backup(copy, pages=-1,
                          progress=lambda _s, remaining, total: progress(f"  {total - remaining}/{total} pages"))
            # The copy inherits the service's WAL mode; a backup is one self-contained file, so a later
            # read-only check (or a copy off the machine) never meets a -wal or -shm beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        return target
    if shutil.which("pg_dump") is None:
        raise ServiceError("pg_dump is not installed: install Debian's postgresql-client.")
    done = subprocess.run(["pg_dump", "--format=custom", "--file", str(target), _pg_dsn(url)],
                          capture_output=True, text=True)
    if done.returncode:
        raise ServiceError(f"pg_dump failed: {done.stderr.strip()[:500]}")
    return target


def _check_sqlite(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise ServiceError(f"{path} is not a Customer Care Registry backup ({err}).") from None
    if ok != "ok" or not {"conversations", "messages", "alembic_version"} <= tables:
        raise ServiceError(f"{path} is not a complete Customer Care Registry backup; nothing was changed.")


def restore(url: str, source: Path) -> Path | None:
    """Replace the database with the backup. Returns where the replaced SQLite file was kept."""
    if not source.exists():
        raise ServiceError(f"There is no backup at {source}.")
    db = _sqlite_path(url)
    if db is not None:
        _check_sqlite(source)
        kept = None
        if db.exists():
            kept = db.with_name(db.name + ".before-restore")
            take(url, kept, progress=lambda _m: None)
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        staged = db.with_name(db.name + ".restoring")
        _private(staged)
        shutil.copyfile(source, staged)
        staged.replace(db)  # atomic on one file system: the old or the new database, never half
        return kept
    if shutil.which("pg_restore") is None:
        raise ServiceError("pg_restore is not installed: install Debian's postgresql-client.")
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", _pg_dsn(url),
                           str(source)], capture_output=True, text=True)
    if done.returncode:
        raise ServiceError(f"pg_restore failed: {done.stderr.strip()[:500]}")
    return None


def check(url: str, path: Path) -> None:
    """Raise ServiceError unless `path` is a backup that restores: SQLite's integrity check, or a
    PostgreSQL archive whose table of contents pg_restore can read and that holds the chats."""
    if _sqlite_path(url) is not None:
        _check_sqlite(path)
        return
    if shutil.which("pg_restore") is None:
        raise ServiceError("pg_restore is not installed: install Debian's postgresql-client.")
    done = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True)
    if done.returncode:
        raise ServiceError(f"pg_restore cannot read {path.name}: {done.stderr.strip()[:300]}")
    if not re.search(r"TABLE DATA \S+ messages\b", done.stdout):
        raise ServiceError(f"{path.name} has no messages table; it is not a complete backup.")


FILES = "attachments"


def mirror_files(source: Path, folder: Path) -> int:
    """Copy attached files the backup folder does not hold yet; returns how many were copied."""
    return _copy_missing(source, folder / FILES)


def restore_files(folder: Path, target: Path) -> int:
    """Put back the attached files the attachments folder lacks, from a backup folder's mirror."""
    return _copy_missing(folder / FILES, target)


def _copy_missing(source: Path, target: Path) -> int:
    if not source.is_dir():
        return 0
    copied = 0
    for path in source.glob("??/*"):
        if path.name.startswith(".") or not path.is_file():
            continue  # a file still being written
        dest = target / path.parent.name / path.name
        if dest.exists():
            continue
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.chmod(0o700)
        staged = dest.with_name(f".{path.name}.copy")
        _private(staged)
        shutil.copyfile(path, staged)
        staged.replace(dest)
        copied += 1
    return copied


def read_status(folder: Path) -> dict:
    """{"last_run": {...}, "last_good": {...}} as the job last wrote it; {} before its first run."""
    try:
        return json.loads((folder / STATUS).read_text())
    except (OSError, ValueError):
        return {}


def _write_status(folder: Path, status: dict) -> None:
    staged = folder / (STATUS + ".new")
    _private(staged)
    staged.write_text(json.dumps(status, indent=2))
    staged.replace(folder / STATUS)


def _due(status: dict, now: datetime, hour: int) -> bool:
    """Once a day from `hour` (UTC); a failed run is tried again an hour later. A process that was not
    running at that hour takes the day's backup when it next checks."""
    slot = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if slot > now:
        slot -= timedelta(days=1)
    last = status.get("last_run")
    if not last:
        return True
    at = datetime.fromisoformat(last["at"])
    return at < slot or (not last.get("ok") and now - at >= RETRY_FAILED_AFTER)


def run_due(url: str, folder: Path, *, hour: int = 3, daily_keep: int = 7, weekly_keep: int = 4,
            now: datetime | None = None, files: Path | None = None) -> dict | None:
    """Take, check and rotate the day's backup if it is due and no other process is at it.

    Returns what was recorded, or None when there was nothing to do.
    """
    now = now or datetime.now(timezone.utc)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # processes start together: no exists() first
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:  # every serving process runs the scheduler; the first to get here does the work
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        status = read_status(folder)  # read under the lock: a run that just finished counts
        if not _due(status, now, hour):
            return None
        return _run(url, folder, now, status, daily_keep, weekly_keep, files)
    finally:
        os.close(fd)  # releases the lock


def _run(url: str, folder: Path, now: datetime, status: dict, daily_keep: int, weekly_keep: int,
         files: Path | None = None) -> dict:
    target = folder / f"auto-{now:%Y%m%d-%H%M%S}{'.db' if _sqlite_path(url) else '.dump'}"
    started = time.monotonic()
    try:
        take(url, target, progress=lambda _line: None)
        check(url, target)
        copied = mirror_files(files, folder) if files is not None else 0
    except Exception as err:  # recorded and shown to admins; the job is tried again in an hour
        target.unlink(missing_ok=True)
        error = err.message if isinstance(err, ServiceError) else f"{type(err).__name__}: {err}"
        run = {"at": now.isoformat(), "ok": False, "error": error[:500]}
        log.error("backup failed error=%s", run["error"])
    else:
        run = {"at": now.isoformat(), "ok": True, "file": target.name, "bytes": target.stat().st_size,
               "seconds": round(time.monotonic() - started, 1), "files_copied": copied}
        status["last_good"] = run
        removed = prune(folder, daily_keep, weekly_keep)
        log.info("backup taken file=%s bytes=%s seconds=%s removed=%s", target.name, run["bytes"], run["seconds"],
                 len(removed))
    status["last_run"] = run
    _write_status(folder, status)
    return run


def prune(folder: Path, daily_keep: int, weekly_keep: int) -> list[str]:
    """Keep the newest scheduled backup of each of the last `daily_keep` days that have one, and of each of
    the last `weekly_keep` ISO weeks; delete the other scheduled ones. Backups taken by hand are left alone."""
    found = sorted(((datetime.strptime(m[1], "%Y%m%d-%H%M%S"), p) for p in folder.iterdir()
                    if (m := _AUTO.match(p.name))), reverse=True)
    days: list = []
    weeks: list = []
    keep = set()
    for stamp, path in found:  # newest first, so the first of each day or week is its newest
        day, week = stamp.date(), stamp.isocalendar()[:2]
        if day not in days and len(days) < max(daily_keep, 1):
            days.append(day)
            keep.add(path)
        if week not in weeks and len(weeks) < weekly_keep:
            weeks.append(week)
            keep.add(path)
    removed = [p.name for _stamp, p in found if p not in keep]
    for name in removed:
        (folder / name).unlink(missing_ok=True)
    return removed
