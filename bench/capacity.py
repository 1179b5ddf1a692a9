"""What one service process holds: thousands of idle widgets, a burst of new ones, and a full house.

For each side (ours, then the bare echo server served the same way) a crowd process (bench/crowd.py)
opens `idle` customer sockets and keeps them open; we note the server's memory before and after, then
how fast `/healthz` and an agent's console answer while the crowd sits there, and while `burst` more
customers connect all at once. Ours runs with MAX_CHAT_SOCKETS = idle + burst, so a last wave of
`refused` customers finds it full: each must be turned away at once with the "busy" reason while the
open sockets, the agents and `/healthz` go on answering. The echo server has no limit and no /healthz
(its answer is a 404 from the same loop): its figures show what python-socketio itself costs.

The crowd stands for customers' browsers, which run on their own machines. Here it shares two cores
with the server and the probe, and 500 python-socketio clients handshaking at once starved both: the
echo server's /healthz took 476 ms at p99 during the burst. So the crowd runs at the lowest CPU
priority (nice CROWD_NICENESS), for ours and the echo alike; the burst then takes as long as the crowd
needs, and what is timed is the server's answer, not the load generator's.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import requests

from handoff.config import PROJECT_ROOT
from handoff.ops.stack import APP_BIN

from .clients import AgentConsole
from .common import BenchStack, collector_paused, free_port, rss_mb, summarize_ms
from .relay_latency import AGENT_PASSWORD, _close_all, _parallel, _stop, _wait_listening, echo_command

IDLE, BURST, REFUSED, AGENTS = 5000, 500, 100, 50
WARM_UP = 50
CROWD_NICENESS = 19


def limit_for(idle: int = IDLE, burst: int = BURST) -> int:
    """The MAX_CHAT_SOCKETS the benchmark stack runs with: room for the crowd and the burst, no more."""
    return idle + burst


class Crowd:
    """The crowd process: open more sockets on request, close them all at the end."""

    def __init__(self, url: str, env: dict, echo: bool = False):
        self.proc = subprocess.Popen([str(APP_BIN / "python"), "-m", "bench.crowd", url] + (["echo"] if echo else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     cwd=PROJECT_ROOT)
        os.setpriority(os.PRIO_PROCESS, self.proc.pid, CROWD_NICENESS)

    def _ask(self, command: dict) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the crowd process died; run `python -m bench.crowd URL` by hand to see why")
        return json.loads(line)

    def open(self, count: int, at_once: int) -> dict:
        return self._ask({"open": count, "at_once": at_once})

    def close(self) -> None:
        try:
            self._ask({"close": True})
            self.proc.wait(timeout=60)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self.proc.kill()


class Probe:
    """Samples /healthz and one agent's round trip every `every` seconds in the background."""

    def __init__(self, url: str, console: AgentConsole | None, every: float = 0.1):
        self.url, self.console, self.every = url, console, every
        self.health: list[float] = []
        self.agent: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        http = requests.Session()
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                http.get(f"{self.url}/healthz", timeout=30)
                self.health.append(time.perf_counter() - started)
                if self.console is not None:
                    started = time.perf_counter()
                    self.console.call("open", {"conversation_id": 10**9}, timeout=30)
                    self.agent.append(time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - a timeout is the finding: counted
                self.errors += 1
            self._stop.wait(self.every)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)

    def summary(self) -> dict:
        return {"healthz": summarize_ms(self.health), "agent": summarize_ms(self.agent) if self.console else None,
                "probe_errors": self.errors}


def _opened(result: dict) -> dict:
    return {k: result[k] for k in ("seconds", "connected", "refused", "failed", "reasons", "open_now")} | {
        "connect": summarize_ms(result["connect_s"]), "refusal": summarize_ms(result["refusal_s"])}


def _side(url: str, pid: int, env: dict, echo: bool, console: AgentConsole | None, idle: int, burst: int,
          refused: int, progress) -> dict:
    result: dict = {"rss_mb_before": rss_mb(pid)}
    crowd = Crowd(url, env, echo)
    try:
        name = "echo" if echo else "ours"
        progress(f"capacity: {name}, opening {idle} idle customer sockets")
        # The first sockets bring in what every connection needs (imports, caches, pools): memory per socket
        # is measured over the rest.
        first = _opened(crowd.open(WARM_UP, at_once=WARM_UP))
        time.sleep(1)
        warm = rss_mb(pid)
        rest = _opened(crowd.open(idle - WARM_UP, at_once=100))
        result["idle_open"] = {**rest, "seconds": round(first["seconds"] + rest["seconds"], 2),
                               "connected": first["connected"] + rest["connected"],
                               "failed": first["failed"] + rest["failed"]}
        time.sleep(3)
        result["rss_mb_idle"] = rss_mb(pid)
        result["kb_per_socket"] = round((result["rss_mb_idle"] - warm) * 1024 / (idle - WARM_UP), 1)
        with collector_paused(), Probe(url, console, every=0.05) as quiet:
            time.sleep(5)
        result["while_idle"] = quiet.summary()
        progress(f"capacity: {name}, a burst of {burst} customers at once")
        with collector_paused(), Probe(url, console) as during:
            result["burst"] = _opened(crowd.open(burst, at_once=burst))
        result["during_burst"] = during.summary()
        if not echo:
            progress(f"capacity: {name}, {refused} more customers at a full process")
            with collector_paused(), Probe(url, console) as full:
                result["full"] = _opened(crowd.open(refused, at_once=refused))
            result["while_full"] = full.summary()
        result["rss_mb_peak"] = rss_mb(pid)
    finally:
        crowd.close()
    return result


def measure(bench: BenchStack, idle: int = IDLE, burst: int = BURST, refused: int = REFUSED, agents: int = AGENTS,
            progress=print) -> dict:
    out = subprocess.run([str(APP_BIN / "python"), "-m", "bench.seed_agents", str(agents), AGENT_PASSWORD, "1001"],
                         env=bench.env, cwd=PROJECT_ROOT, check=True, capture_output=True, text=True)
    consoles = _parallel(lambda e: AgentConsole.login(bench.url, e, AGENT_PASSWORD).connect(), out.stdout.split())
    try:
        progress(f"capacity: {agents} agents connected")
        ours = _side(bench.url, bench.pid("web"), bench.env, False, consoles[0], idle, burst, refused, progress)
    finally:
        _close_all(consoles)
    port = free_port()
    log = open(Path(bench.var_dir) / "echo-capacity.log", "ab")
    proc = subprocess.Popen(echo_command(bench, port), env=bench.env, cwd=PROJECT_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_listening(port, proc)
        echo = _side(f"http://127.0.0.1:{port}", proc.pid, bench.env, True, None, idle, burst, refused, progress)
    finally:
        _stop(proc, log)
    return {"settings": {"idle": idle, "burst": burst, "refused": refused, "agents": agents,
                         "max_chat_sockets": limit_for(idle, burst)}, "ours": ours, "echo": echo}
