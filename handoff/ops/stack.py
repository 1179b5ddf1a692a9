"""The processes of a running installation (three, and a fourth for inbound mail when configured) and their settings, for `make run`, tests and benchmarks.

One function builds the commands, so the launcher, the end-to-end tests and the benchmarks start exactly
the same stack.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from handoff.config import PROJECT_ROOT, VAR_DIR, _local_secret, handoff_connections

RASA_BIN = PROJECT_ROOT / ".venv" / "rasa" / "bin"
APP_BIN = PROJECT_ROOT / ".venv" / "app" / "bin"
MODEL = PROJECT_ROOT / "models" / "current.tar.gz"
WORKER = "handoff.ops.worker.PacedGeventWorker"  # gunicorn's gevent worker, accepting one connection a turn


@dataclass
class Stack:
    handoff_port: int = 5000
    rasa_port: int = 5005
    actions_port: int = 5055
    host: str = "127.0.0.1"
    var_dir: Path = VAR_DIR
    extra_env: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> "Stack":
        env = os.environ
        return cls(int(env.get("HANDOFF_PORT", 5000)), int(env.get("RASA_PORT", 5005)),
                   int(env.get("ACTIONS_PORT", 5055)), env.get("HANDOFF_HOST", "127.0.0.1"))

    @property
    def handoff_url(self) -> str:
        return f"http://{self.host}:{self.handoff_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "HANDOFF_URL": f"http://127.0.0.1:{self.handoff_port}",
            "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
            "ACTIONS_URL": f"http://127.0.0.1:{self.actions_port}",
            "CCR_VAR_DIR": str(self.var_dir),
            "SERVICE_TOKEN": os.environ.get("SERVICE_TOKEN") or _local_secret("service_token", self.var_dir),
            # What Rasa presents to the action server, and the service to Rasa's REST channel.
            "ACTIONS_TOKEN": os.environ.get("ACTIONS_TOKEN") or _local_secret("actions_token", self.var_dir),
            "RASA_TOKEN": os.environ.get("RASA_TOKEN") or _local_secret("rasa_token", self.var_dir),
            "PYTHONUNBUFFERED": "1",
            # glibc gives each thread that allocates an arena of its own, which keeps what it freed; the
            # service's few native threads (encoder, Argon2) need no more than two.
            "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
            "PUBLIC_URL": self.handoff_url,
        })
        env.update(self.extra_env)
        return env

    def endpoints_file(self) -> Path:
        """Rasa's endpoints.yml with the action server's port of this stack."""
        text = (PROJECT_ROOT / "endpoints.yml").read_text()
        text = text.replace("http://127.0.0.1:5055/webhook", f"http://127.0.0.1:{self.actions_port}/webhook")
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "endpoints.yml"
        path.write_text(text)
        return path

    def commands(self) -> dict[str, list[str]]:
        connections = self.env().get("HANDOFF_CONNECTIONS") or str(handoff_connections())
        return {
            # No --enable-api: the service needs only the REST channel, and the API would hand out any chat.
            "rasa": [str(RASA_BIN / "rasa"), "run", "-m", str(MODEL),
                     "--credentials", str(PROJECT_ROOT / "bot" / "credentials.yml"),
                     "--endpoints", str(self.endpoints_file()), "-i", "127.0.0.1", "-p", str(self.rasa_port)],
            "actions": [str(RASA_BIN / "python"), "-m", "actions.server", "--host", "127.0.0.1",
                        "--port", str(self.actions_port)],
            # One cooperative worker: a greenlet per socket, not a thread (gevent patches the standard
            # library, and handoff.realtime.off_the_loop sends CPU-bound work to native threads). It takes
            # one new connection per turn of its loop (handoff.ops.worker), so bursts wait in the backlog.
            "web": [str(APP_BIN / "gunicorn"), "-k", WORKER, "-w", "1", "--worker-connections", connections,
                    "-b", f"{self.host}:{self.handoff_port}", "--timeout", "120",
                    "--graceful-timeout", "5", "handoff.ops.wsgi:app"],
            # Customers' mail coming in, when a mailbox or the SMTP listener is configured. `python -m` from
            # the project root runs this checkout's code, as gunicorn and the actions do.
            **({"mail": [str(APP_BIN / "python"), "-m", "handoff.ops.cli", "inbound"]}
               if self.inbound_configured() else {}),
        }

    def inbound_configured(self) -> bool:
        env = self.env()
        return bool(env.get("IMAP_HOST") or env.get("INBOUND_SMTP_PORT"))

    def shell_commands(self) -> dict[str, str]:
        return {name: shlex.join(argv) for name, argv in self.commands().items()}


class RunningStack:
    """Starts the stack's processes as children (for end-to-end tests and benchmarks), logs to var_dir."""

    def __init__(self, stack: Stack, names=("rasa", "actions", "web")):
        import subprocess

        self._subprocess = subprocess
        self.stack, self.names, self.procs = stack, names, {}
        self.env = stack.env()

    def prepare_database(self) -> None:
        # `python -m` from the project root runs this checkout's code, as gunicorn and the actions do.
        careregistry = [str(APP_BIN / "python"), "-m", "handoff.ops.cli"]
        for args in (["db", "upgrade"], ["seed-demo"]):
            self._subprocess.run([*careregistry, *args], env=self.env, cwd=PROJECT_ROOT, check=True,
                                 stdout=self._subprocess.DEVNULL)

    def start(self, name: str) -> None:
        log = open(self.stack.var_dir / f"{name}.log", "ab")
        self.procs[name] = self._subprocess.Popen(self.stack.commands()[name], env=self.env, cwd=PROJECT_ROOT,
                                                  stdout=log, stderr=self._subprocess.STDOUT,
                                                  start_new_session=True)

    def stop(self, name: str, kill: bool = False) -> None:
        import signal

        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except self._subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> "RunningStack":
        self.prepare_database()
        for name in self.names:
            self.start(name)
        return self

    def __exit__(self, *exc) -> None:
        for name in list(self.procs):
            self.stop(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.stack.var_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
