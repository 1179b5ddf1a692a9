"""The scale-out set-up: a throwaway PostgreSQL cluster and a Redis server on free loopback ports.

Both are started once per session in a temporary directory and stopped at the end. Without the Debian
packages (`make scale-deps` installs them) the tests are skipped, except in CI where that is a failure.
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.fakes import free_port, wait_for

# The service-level fixtures of tests/handoff (sockets, API client, agents), here on a PostgreSQL `app`.
from tests.handoff.conftest import TOKEN, agent_socket, api, client, customer_socket, fake_rasa, make_agent, service_app  # noqa: F401

_databases = itertools.count()


def _missing(what: str, fix: str = "run `make scale-deps` (Debian's postgresql and redis-server)") -> None:
    reason = f"{what} is not installed: {fix}."
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI must run these tests, never skip them quietly
    pytest.skip(reason)


def _pg_bin() -> Path | None:
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name),
                        reverse=True):
        if (Path(found) / "initdb").exists() and (Path(found) / "pg_ctl").exists():
            return Path(found)
    return None


class Postgres:
    """One cluster in a temporary directory, listening on 127.0.0.1 only, trusted (it lives for one run)."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ccr-pg-"))
        self.data, self.sockets, self.log = self.dir / "data", self.dir / "sockets", self.dir / "postgres.log"
        self.sockets.mkdir()
        # PostgreSQL refuses to run as root, and CI runs as root: run it as the `postgres` user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")

    def _run(self, *argv: str) -> None:
        done = subprocess.run([*self.as_user, *argv], capture_output=True, text=True, timeout=60)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed:\n{done.stdout}{done.stderr}\n{log}")

    def start(self) -> "Postgres":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        # Durability settings off: the cluster is thrown away after the run.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", options, "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"ccr_{os.getpid()}_{next(_databases)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class Redis:
    def __init__(self, binary: str):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall the server
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> "Redis":
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)

        def pong():
            try:
                return client.ping()
            except redis.RedisError:
                return self.proc.poll() is not None  # exited: stop waiting, reported below

        wait_for(pong, timeout=15, interval=0.05)
        client.close()
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise RuntimeError(f"redis-server exited:\n{self.log.read().decode(errors='replace')}")
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def postgres():
    bin_dir = _pg_bin()
    if bin_dir is None:
        _missing("PostgreSQL (initdb, pg_ctl in /usr/lib/postgresql/*/bin)")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        _missing("runuser", "install Debian's util-linux")
    cluster = Postgres(bin_dir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server")
    server = Redis(binary)
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture
def database_url(postgres):
    return postgres.create_database()



@pytest.fixture
def app(database_url, fake_rasa):
    from handoff import db

    app = service_app(database_url, fake_rasa)
    yield app
    db.engine().dispose()  # close this database's pooled connections before the cluster stops
