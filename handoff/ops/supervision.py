"""Keeping the three processes running: a supervisord configuration for `make run` and for a production
install, and systemd units for installs that let systemd supervise.

Either way a process that dies is started again with a growing delay, and nothing else is stopped:
/healthz names the part that is down meanwhile.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shlex
import signal
import subprocess
import time
import xmlrpc.client
from pathlib import Path

from handoff.config import PROJECT_ROOT
from handoff.ops.stack import APP_BIN, RunningStack, Stack

# Stopped in this order at shut-down (supervisord stops the highest priority first): the service first,
# so no customer's message is accepted while the bot behind it is going away.
PRIORITY = {"rasa": 100, "actions": 200, "mail": 250, "web": 300}
# Seconds a process must stay up to count as started. Dying sooner is a failed start, retried after
# 1, 2, 3, ... s (supervisord's back-off); after START_RETRIES failed starts in a row it gives up.
START_SECONDS = {"rasa": 20, "actions": 5, "mail": 5, "web": 5}
START_RETRIES = 100
STOP_WAIT = 15


def _quote(value: str) -> str:
    return value.replace("%", "%%")  # supervisord expands %(name)s in its values


def supervisord_conf(stack: Stack, *, log_dir: Path, run_dir: Path, foreground: bool,
                     user: str | None = None) -> str:
    """A complete supervisord.conf. The processes inherit supervisord's environment, so no setting or
    secret is written into the file; start supervisord with the environment the service needs."""
    user = user or pwd.getpwuid(os.getuid()).pw_name
    # The socket is the owner's only (chmod 0700); a password as well, and the file is mode 600.
    password = secrets.token_urlsafe(18)
    sock = run_dir / "supervisor.sock"
    lines = [
        "; Written by careregistry; the processes inherit supervisord's environment.",
        "[supervisord]",
        f"nodaemon={'true' if foreground else 'false'}",
        f"user={user}",
        f"pidfile={_quote(str(run_dir / 'supervisord.pid'))}",
        "loglevel=info",
        # In the foreground supervisord writes its lines (started, exited, restarted) to its standard output.
        *(["logfile=/dev/null", "logfile_maxbytes=0"] if foreground
          else [f"logfile={_quote(str(log_dir / 'supervisord.log'))}"]),
        f"childlogdir={_quote(str(log_dir))}",
        "",
        "[unix_http_server]",
        f"file={_quote(str(sock))}",
        "chmod=0700",
        "username=careregistry",
        f"password={password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_quote(str(sock))}",
        "username=careregistry",
        f"password={password}",
    ]
    for name, argv in stack.commands().items():
        lines += [
            "",
            f"[program:{name}]",
            f"command={_quote(shlex.join(argv))}",
            f"directory={_quote(str(PROJECT_ROOT))}",
            f"priority={PRIORITY[name]}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS[name]}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT}",
            # Rasa and gunicorn have children of their own: stop and kill the whole group.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_quote(str(log_dir / f'{name}.log'))}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=5",
        ]
    return "\n".join(lines) + "\n"


def systemd_units(stack: Stack, *, user: str, env_file: Path) -> dict[str, str]:
    """careregistry-{rasa,actions,web}.service and careregistry.target, which starts and stops them."""
    units = {"careregistry.target": "\n".join([
        "[Unit]",
        "Description=Customer Care Registry (handoff service, Rasa, action server)",
        "Wants=" + " ".join(f"careregistry-{name}.service" for name in stack.commands()),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])}
    for name, argv in stack.commands().items():
        units[f"careregistry-{name}.service"] = "\n".join([
            "[Unit]",
            f"Description=Customer Care Registry: {name}",
            "PartOf=careregistry.target",
            "After=network.target" + (" careregistry-actions.service" if name == "rasa" else ""),
            "StartLimitIntervalSec=0",  # never give up restarting
            "",
            "[Service]",
            f"User={user}",
            f"WorkingDirectory={PROJECT_ROOT}",
            # Settings and secrets (SECRET_KEY, SERVICE_TOKEN, DATABASE_URL, ...), readable by root only.
            f"EnvironmentFile={env_file}",
            "Environment=PYTHONUNBUFFERED=1",
            "ExecStart=" + " ".join(_systemd_quote(a) for a in argv),
            "Restart=always",
            "RestartSec=1",
            # systemd 254 and later grow the delay to a minute; older versions ignore these two lines.
            "RestartSteps=6",
            "RestartMaxDelaySec=60",
            "KillMode=control-group",
            f"TimeoutStopSec={STOP_WAIT}",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "",
            "[Install]",
            "WantedBy=careregistry.target",
            "",
        ])
    return units


def _systemd_quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "/._-:=," for c in arg):
        return arg.replace("%", "%%")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def env_file_text(stack: Stack) -> str:
    """The settings the units need besides the operator's own: the addresses between the parts, and the
    secrets they share (Rasa and the action server read theirs only from the environment)."""
    env = stack.env()
    keys = ("HANDOFF_URL", "RASA_URL", "ACTIONS_URL", "CCR_VAR_DIR", "PUBLIC_URL", "SERVICE_TOKEN", "RASA_TOKEN",
            "ACTIONS_TOKEN")
    return "".join(f"{k}={env[k]}\n" for k in keys)


class Supervisor:
    """Talks to a running supervisord over its unix socket (what supervisorctl does)."""

    def __init__(self, conf: Path):
        import configparser

        parser = configparser.RawConfigParser()
        parser.read(conf)
        self.sock, self.password = parser["unix_http_server"]["file"], parser["unix_http_server"]["password"]

    @property
    def rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        # A new connection per call: the transport cannot be used again after a failed request.
        transport = SupervisorTransport("careregistry", self.password, f"unix://{self.sock.replace('%%', '%')}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def info(self, name: str) -> dict:
        return self.rpc.supervisor.getProcessInfo(name)

    def pid(self, name: str) -> int:
        return self.info(name)["pid"]

    def wait_running(self, name: str, timeout: float = 30) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = self.info(name)
                if info["statename"] == "RUNNING" and info["pid"]:
                    return info
            except (OSError, xmlrpc.client.Fault):
                pass
            time.sleep(0.2)
        return None


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def supervisord_command(conf: Path) -> list[str]:
    return [str(APP_BIN / "supervisord"), "-c", str(conf)]


class SupervisedStack(RunningStack):
    """The stack as `make run` runs it, under supervisord, for the fault tests: kill a process and watch
    the supervisor bring it back."""

    def __enter__(self) -> "SupervisedStack":
        self.prepare_database()
        var = self.stack.var_dir
        conf = var / "supervisord.conf"
        write_private(conf, supervisord_conf(self.stack, log_dir=var, run_dir=var, foreground=True))
        self.supervisord = subprocess.Popen(supervisord_command(conf), env=self.env, cwd=PROJECT_ROOT,
                                            stdout=open(var / "supervisord.log", "ab"), stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.supervisor = Supervisor(conf)
        try:
            for name in self.names:
                if self.supervisor.wait_running(name, timeout=60) is None:
                    raise RuntimeError(f"supervisord did not start {name}:\n{self.log_tail('supervisord')}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def stop(self, name: str, kill: bool = False) -> None:
        """Take `name` down and keep it down until start(name) (RunningStack's contract)."""
        if kill:
            pid = self.kill(name)
            deadline = time.monotonic() + 10
            while self.supervisor.info(name)["pid"] == pid and time.monotonic() < deadline:
                time.sleep(0.1)  # until supervisord has seen it die, or the stop below signals a dead pid
        try:
            self.supervisor.rpc.supervisor.stopProcess(name)
        except xmlrpc.client.Fault:  # already exited (a kill): the stop only keeps it from restarting
            pass

    def start(self, name: str) -> None:
        self.supervisor.rpc.supervisor.startProcess(name, False)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send `sig` to the process supervisord started for `name`; returns its pid."""
        pid = self.supervisor.pid(name)
        os.kill(pid, sig)
        return pid

    def __exit__(self, *exc) -> None:
        self.supervisord.send_signal(signal.SIGTERM)  # it stops every process, then exits
        try:
            self.supervisord.wait(timeout=STOP_WAIT * 3 + 10)
        except subprocess.TimeoutExpired:
            os.killpg(self.supervisord.pid, signal.SIGKILL)
            self.supervisord.wait()


def write_service_files(out: Path, fmt: str, *, user: str, env_file: Path) -> list[Path]:
    """Write what a production install needs to keep the processes running; returns the files written."""
    stack = Stack.from_env()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if fmt == "systemd":
        files = systemd_units(stack, user=user, env_file=env_file)
    else:
        log_dir = stack.var_dir / "log"
        files = {"careregistry-supervisord.conf": supervisord_conf(stack, log_dir=log_dir, run_dir=stack.var_dir,
                                                                   foreground=False, user=user)}
    files["careregistry.env"] = ("# Settings of every process; keep this file readable by root only.\n"
                                 "# SECRET_KEY=...   SERVICE_TOKEN=...   DATABASE_URL=...   (see the README)\n"
                                 + env_file_text(stack))
    for name, text in files.items():
        path = out / name
        write_private(path, text) if name.endswith((".env", ".conf")) else path.write_text(text)
        written.append(path)
    return written
