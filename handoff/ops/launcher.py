"""`make run`: start Rasa, the action server and the handoff service under one process manager,
wait until all are healthy, then say where to click and how to log in. Ctrl-C stops everything."""
from __future__ import annotations

import sys
import threading
import time

import requests
from honcho.manager import Manager

from handoff.config import PROJECT_ROOT
from handoff.ops.stack import Stack

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
    lines += ["", "  Press Ctrl-C to stop everything.", "=" * 64, ""]
    return "\n".join(lines)


def main() -> int:
    stack = Stack.from_env()
    if not (PROJECT_ROOT / "models" / "current.tar.gz").exists():
        print("No trained bot model: run `make run` (it trains one) or `make model`.", file=sys.stderr)
        return 1
    manager = Manager()
    env = stack.env()
    for name, cmd in stack.shell_commands().items():
        manager.add_process(name, cmd, env=env, cwd=str(PROJECT_ROOT))

    def announce() -> None:
        health = wait_healthy(stack.handoff_url, progress=lambda m: print(m, flush=True))
        if health is None:
            print("Not everything came up within 5 minutes; the log lines above name the part that failed. "
                  f"Check {stack.handoff_url}/healthz.", flush=True)
        else:
            print(banner(stack), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
