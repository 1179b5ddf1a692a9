"""Engine and session factory. Service functions open short transactions with `session_scope()`."""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator, TypeVar

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from handoff.config import VAR_DIR
from handoff.errors import NotFound
from handoff.realtime import cooperative, off_the_loop

log = logging.getLogger("careregistry.db")

Row = TypeVar("Row")


class Base(DeclarativeBase):
    # Named constraints, so migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None
# SQLite allows one writer at a time. Threads that find it locked sleep and retry (busy_timeout), which
# makes latency spiky under load; taking turns on a process-wide lock instead keeps them in a fair queue.
_sqlite_turn: threading.RLock | None = None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the relay threads read while one writes; busy_timeout queues writers instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    if cooperative():
        # A checkpoint copies the WAL into the database and fsyncs it: tens of milliseconds, on a busy
        # disk hundreds, with every socket of the loop waiting. _checkpoints() does them on a native thread.
        cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


def _checkpoints(db: Path, every: float = 2.0) -> None:
    """Fold the WAL into the database every few seconds, off the loop (a passive checkpoint never
    waits for readers or writers; with nothing new in the WAL it does nothing)."""
    import sqlite3
    import time

    conn = sqlite3.connect(db, timeout=10, check_same_thread=False, isolation_level=None)
    while True:
        time.sleep(every)
        try:
            off_the_loop(conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as err:
            log.warning("wal checkpoint failed error=%s", err)


def init_engine(url: str) -> Engine:
    global _engine, _factory, _sqlite_turn
    _sqlite_turn = threading.RLock() if url.startswith("sqlite") else None
    if url.startswith("sqlite:///"):
        keep_private(Path(url.removeprefix("sqlite:///").split("?")[0]))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        if cooperative():
            threading.Thread(target=_checkpoints, args=(Path(url.removeprefix("sqlite:///").split("?")[0]),),
                             daemon=True, name="wal-checkpoints").start()
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    _engine = engine
    _factory = sessionmaker(engine, expire_on_commit=False)
    return engine


def keep_private(db: Path) -> None:
    """Customers' data readable by the service's user only: the file 0600 (SQLite creates its WAL and
    shared-memory files with the database's mode), var/ and any folder made for it 0700. Existing
    modes only lose their group and other bits, so a database made read-only on purpose stays so."""
    if db.name in ("", ":memory:"):
        return
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not db.exists():
        try:
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # empty = an empty SQLite db
        except FileExistsError:
            pass  # another process made it first
    for path in (VAR_DIR, db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        try:
            if path.exists() and path.stat().st_uid == os.getuid():
                path.chmod(path.stat().st_mode & 0o700)
        except OSError:
            pass  # not ours to change; the service still runs


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("Database not initialised: call init_engine() (create_app does this).")
    return _engine


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    if _factory is None:
        raise RuntimeError("Database not initialised: call init_engine() (create_app does this).")
    with _sqlite_turn or nullcontext(), _factory.begin() as session:
        yield session


@contextmanager
def connection_scope():
    """One transaction on a bare connection, for the hot paths where the ORM's bookkeeping costs too much."""
    with _sqlite_turn or nullcontext(), engine().begin() as conn:
        yield conn


class Prepared:
    """A Core statement compiled once per dialect and run straight on the driver's cursor.

    For the chat's hot path, where a message costs one SELECT and one INSERT. Around each call
    SQLAlchemy builds an execution context, processes parameters and sets up a result; under the relay
    benchmark (200 conversations, py-spy) that machinery was four fifths of a message's database time and
    a quarter of the service's CPU, the driver's own work the rest. Values still go through each column
    type's bind processor (dates as SQLite stores them, JSON), so rows written here read back through the
    ORM as usual, and result columns through their result processors. Python-side column defaults are
    not applied: the statement must give every value (checked when compiled). Driver errors are raised
    as SQLAlchemy's, so `except IntegrityError` works as with `Connection.execute`.
    """

    def __init__(self, statement):
        self.statement = statement
        self._ready: dict[str, tuple] = {}

    def _compile(self, dialect) -> tuple:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError(f"Prepared statements apply no Python-side defaults; give these columns a value: "
                             f"{[c.name for c in compiled.insert_prefetch + compiled.update_prefetch]}")
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        # (name, required, fixed value, processor): a value the statement carries (internal=False) is
        # fixed; a bindparam() without one must be given, as SQLAlchemy requires, not bound as NULL.
        binds = [(name, bind.required, bind.value, bind.type.dialect_impl(dialect).bind_processor(dialect))
                 for name, bind in ((n, compiled.binds[n]) for n in names)]
        results = [col.type.dialect_impl(dialect).result_processor(dialect, None)
                   for col in self.statement.exported_columns]  # a SELECT's columns, or what RETURNING gives
        return str(compiled), compiled.positional, binds, results if any(results) else None

    def execute(self, conn: Connection, params: dict) -> list[tuple]:
        """Run it in `conn`'s transaction; the rows it returns (none for a plain INSERT or UPDATE)."""
        dialect = conn.dialect
        ready = self._ready.get(dialect.name)
        if ready is None:
            ready = self._ready[dialect.name] = self._compile(dialect)
        sql, positional, binds, results = ready
        values = []
        for name, required, fixed, process in binds:
            if required and name not in params:
                raise ValueError(f"A value is required for bind parameter {name!r}")
            value = params.get(name, fixed)
            values.append((name, process(value) if process else value))
        args = tuple(v for _, v in values) if positional else dict(values)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, args)
            rows = cursor.fetchall() if cursor.description else []
        except dialect.loaded_dbapi.Error as err:
            raise DBAPIError.instance(sql, args, err, dialect.loaded_dbapi.Error, dialect=dialect) from err
        finally:
            cursor.close()
        if results:
            rows = [tuple(p(v) if p else v for p, v in zip(results, row)) for row in rows]
        return rows


def get_or_raise(s: Session, model: type[Row], key, missing: str) -> Row:
    """The row with this primary key, or NotFound with `missing`, a sentence for whoever asked."""
    row = s.get(model, key)
    if row is None:
        raise NotFound(missing)
    return row
