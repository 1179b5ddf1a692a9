"""Backups of the database: a consistent copy taken while the service runs, and a checked restore.

SQLite uses the online backup API (no need to stop anything). PostgreSQL uses pg_dump / pg_restore.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from handoff.errors import ServiceError


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def default_name(url: str, folder: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return folder / f"careregistry-{stamp}{'.db' if _sqlite_path(url) else '.dump'}"


def take(url: str, target: Path, progress=print) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    db = _sqlite_path(url)
    if db is not None:
        if not db.exists():
            raise ServiceError(f"There is no database at {db} yet: run `careregistry db upgrade` first.")
        source, copy = sqlite3.connect(db), sqlite3.connect(target)
        try:
            source.backup(copy, pages=256,
                          progress=lambda _s, remaining, total: progress(f"  {total - remaining}/{total} pages"))
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
