"""What the benchmarks share: ports, percentiles, process memory, the stack they run against."""
from __future__ import annotations

import gc
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from handoff.config import PROJECT_ROOT
from handoff.ops.launcher import wait_healthy
from handoff.ops.stack import MODEL, RunningStack, Stack


@contextmanager
def collector_paused() -> Iterator[None]:
    """The load generator collects no garbage while it measures. Its own full collection stops every
    client thread at once: with 2,000 clients connected that was a 260 ms pause, 18.7 s into every
    1,000-conversation relay window, and it fell on whichever server was being measured at the time."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize_ms(seconds: list[float]) -> dict:
    """p50/p99/max in milliseconds of latencies given in seconds."""
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": _round(percentile(ms, 50)), "p90_ms": _round(percentile(ms, 90)),
            "p99_ms": _round(percentile(ms, 99)), "max_ms": _round(max(ms) if ms else None),
            "mean_ms": _round(sum(ms) / len(ms) if ms else None)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- processes -------------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(tree.get(p, []))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (gunicorn master + worker, rasa + helpers)."""
    total_kb = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- the stack -------------------------------------------------------------------------------------

class BenchStack:
    """A RunningStack on free ports with a temporary var directory, plus what the benchmarks need of it."""

    def __init__(self, running: RunningStack, var_dir: Path):
        self.running, self.var_dir = running, var_dir
        self.stack = running.stack
        self.url = self.stack.handoff_url
        self.rasa_url = f"http://127.0.0.1:{self.stack.rasa_port}"
        self.env = running.env
        self.service_token = (var_dir / "service_token").read_text().strip()

    def pid(self, name: str) -> int | None:
        proc = self.running.procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def rss(self) -> dict[str, float]:
        return {name: rss_mb(pid) for name in ("web", "rasa", "actions") if (pid := self.pid(name))}

    def logins(self) -> list[dict]:
        return json.loads((self.var_dir / "demo_logins.json").read_text())

    def handoff(self, conversation_id: int, reason: str = "customer_request") -> dict:
        resp = requests.post(f"{self.url}/api/conversations/{conversation_id}/handoff", json={"reason": reason},
                             headers={"Authorization": f"Bearer {self.service_token}"}, timeout=30)
        resp.raise_for_status()
        return resp.json()


def _wait_web_only(url: str, timeout: float) -> bool:
    """Without Rasa /healthz stays 503, so only the database part is waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=3).json().get("database", {}).get("ok"):
                return True
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    return False


def wait_for_model(timeout: float, progress=print) -> bool:
    """Another engineer may still be training it: poll until the file exists and stops growing."""
    deadline, last_size, shown = time.monotonic() + timeout, -1, 0.0
    while time.monotonic() < deadline:
        if MODEL.exists():
            size = MODEL.stat().st_size
            if size == last_size and time.time() - MODEL.stat().st_mtime > 5:
                return True
            last_size = size
        elif time.monotonic() - shown > 30:
            progress(f"waiting for the Rasa model at {MODEL} ...")
            shown = time.monotonic()
        time.sleep(2)
    return False


@contextmanager
def bench_stack(with_bot: bool, progress=print, extra_env: dict | None = None) -> Iterator[BenchStack]:
    """Start the stack (or only the handoff service) in a temporary directory; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="ccr-bench-") as tmp:
        var = Path(tmp)
        stack = Stack(handoff_port=free_port(), rasa_port=free_port(), actions_port=free_port(), var_dir=var,
                      # Every simulated customer connects from 127.0.0.1, and a few simulated agents answer
                      # hundreds of chats each: no per-address connection limit, no per-agent message rate.
                      extra_env={"DATABASE_URL": f"sqlite:///{var / 'bench.db'}", "RATE_CHAT_CONNECT": "",
                                 "RATE_AGENT": "", "RATE_AGENT_CONNECTION": "",
                                 # The relay part hands each chat to a chosen console itself: every agent
                                 # sees the queue and accepts (automatic offers are routing's business).
                                 "ROUTING_MODE": "broadcast", **(extra_env or {})})
        names = ("rasa", "actions", "web") if with_bot else ("web",)
        running = RunningStack(stack, names=names)
        started = time.monotonic()
        with _stderr_to(var / "prepare.log"):  # the seed's log lines would drown the progress lines
            running.prepare_database()
        try:
            for name in names:
                running.start(name)
            ready = (wait_healthy(stack.handoff_url, timeout=300, progress=progress) is not None if with_bot
                     else _wait_web_only(stack.handoff_url, timeout=120))
            if not ready:
                tails = "\n".join(f"--- {n} ---\n{running.log_tail(n)}" for n in names)
                raise RuntimeError(f"The stack did not become healthy:\n{tails}")
            progress(f"stack up in {time.monotonic() - started:.0f} s "
                     f"(handoff :{stack.handoff_port}, rasa :{stack.rasa_port}, actions :{stack.actions_port})")
            yield BenchStack(running, var)
        except Exception:
            # The stack's logs go with its temporary folder: keep them where the report goes.
            kept = PROJECT_ROOT / "var" / "bench" / "failed"
            shutil.rmtree(kept, ignore_errors=True)
            kept.mkdir(parents=True)
            for log in var.glob("*.log"):
                shutil.copy(log, kept / log.name)
            print(f"The stack's logs are kept in {kept}; the end of web.log:\n{running.log_tail('web', 30)}",
                  file=sys.stderr)
            raise
        finally:
            for name in list(running.procs):
                running.stop(name)


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Point file descriptor 2 (inherited by child processes) at a file for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
