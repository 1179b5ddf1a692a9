"""`make run`: start Rasa, the action server and the handoff service under supervisord, which restarts
any of them that dies; wait until all are healthy, then say where to click and how to log in.
Ctrl-C stops everything."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import requests

from handoff.config import PROJECT_ROOT
from handoff.ops.stack import Stack
from handoff.ops.supervision import supervisord_command, supervisord_conf, write_private

READY_TIMEOUT = 300


def wait_healthy(url: str, timeout: float = READY_TIMEOUT, progress=print) -> dict | None:
    """Poll /healthz until every part is up; report what is still starting now and then."""
    deadline, last, shown = time.monotonic() + timeout, None, 0.0
    while time.monotonic() < deadline:
        try:
            resp = requests.get(f"{url}/healthz", timeout=3)
            last = resp.json()
            if resp.status_code == 200:
                return last
        except (requests.RequestException, ValueError):
            last = None
        if time.monotonic() - shown > 10:
            waiting = [k for k, v in (last or {}).items() if isinstance(v, dict) and not v.get("ok")]
            progress(f"... still starting: {', '.join(waiting) if waiting else 'handoff service'}")
            shown = time.monotonic()
        time.sleep(1)
    return None


def banner(stack: Stack) -> str:
    url = stack.handoff_url
    lines = ["", "=" * 64, " Customer Care Registry is running", "=" * 64,
             f"  Demo shop with the chat widget : {url}/",
             f"  Agents' console                : {url}/console",
             f"  Admin                          : {url}/admin",
             f"  Health                         : {url}/healthz", ""]
    logins = stack.var_dir / "demo_logins.json"
    if logins.exists():  # the passwords themselves were shown once, when seed-demo created them
        lines += [f"  Demo log-ins (readable by you only)  : {logins}",
                  "  Change a password: .venv/app/bin/careregistry set-password --email EMAIL"]
    lines += ["", f"  Logs: {stack.var_dir / 'log'}/{{web,rasa,actions}}.log",
              "  A process that stops is started again by itself; /healthz names it meanwhile.",
              "  Press Ctrl-C to stop everything.", "=" * 64, ""]
    return "\n".join(lines)


def main() -> int:
    stack = Stack.from_env()
    if not (PROJECT_ROOT / "models" / "current.tar.gz").exists():
        print("No trained bot model: run `make run` (it trains one) or `make model`.", file=sys.stderr)
        return 1
    log_dir = stack.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    conf = stack.var_dir / "supervisord.conf"
    write_private(conf, supervisord_conf(stack, log_dir=log_dir, run_dir=stack.var_dir, foreground=True))
    # supervisord puts each process in a process group of its own, so Ctrl-C reaches only supervisord
    # (and this launcher), and supervisord stops them in order.
    supervisord = subprocess.Popen(supervisord_command(conf), env=stack.env(), cwd=PROJECT_ROOT)

    def announce() -> None:
        health = wait_healthy(stack.handoff_url, progress=lambda m: print(m, flush=True))
        if supervisord.poll() is not None:
            return
        if health is None:
            print("Not everything came up within 5 minutes; /healthz names the part, its log in "
                  f"{log_dir} says why. Check {stack.handoff_url}/healthz.", flush=True)
        else:
            print(banner(stack), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    while True:
        try:
            return supervisord.wait()
        except KeyboardInterrupt:
            print("Stopping everything ...", flush=True)
            supervisord.send_signal(signal.SIGINT)  # already sent by the terminal; harmless twice


if __name__ == "__main__":
    sys.exit(main())
