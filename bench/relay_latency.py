"""Relay latency between customers and agents at many live conversations, beside a bare echo server.

Every conversation has a customer socket on /chat and is owned by an agent whose console (/agent) follows
it. For `duration` seconds each customer sends a message every `interval` seconds and the agent side sends
one message per conversation every `interval` seconds (half an interval later), spread evenly over time.
Each text carries its direction, conversation and sequence number; the clock runs from the emit to the
`message` event on the other side. Anything not delivered within the grace period after the load counts as
lost. The echo server (bench/echo_server.py) gets exactly the same clients, sockets and schedule, and the
two take turns in windows (see measure()).
"""
from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from handoff.config import PROJECT_ROOT
from handoff.ops.stack import APP_BIN

from .clients import AgentConsole, Customer
from .common import BenchStack, collector_paused, cpu_seconds, free_port, load_average, rss_mb, summarize_ms

AGENT_PASSWORD = "bench-password-1"
GRACE = 10.0
CONNECT_WORKERS = 8


class Ledger:
    """Send and arrival times of every benchmark message, keyed by (direction, conversation, sequence)."""

    def __init__(self):
        self.sent: dict[tuple, float] = {}
        self.arrived: dict[tuple, float] = {}
        self.duplicates = 0
        self.ack_errors: list[str] = []
        self._lock = threading.Lock()

    @staticmethod
    def text(direction: str, conversation_id: int, seq: int) -> str:
        return f"bench {direction} {conversation_id} {seq} lorem ipsum dolor sit amet"

    def mark_sent(self, key: tuple, at: float) -> None:
        with self._lock:
            self.sent[key] = at

    def on_message(self, expect_sender: str):
        def handler(_client, message: dict, arrived: float) -> None:
            if message.get("sender") != expect_sender:
                return  # the sender's own copy, or a system note
            parts = str(message.get("text", "")).split()
            if len(parts) < 4 or parts[0] != "bench":
                return
            key = (parts[1], int(parts[2]), int(parts[3]))
            with self._lock:
                if key in self.arrived:
                    self.duplicates += 1
                else:
                    self.arrived[key] = arrived
        return handler

    def ack(self, ok_or_error) -> None:
        if isinstance(ok_or_error, dict) and not ok_or_error.get("ok"):
            with self._lock:
                self.ack_errors.append(str(ok_or_error.get("error")))

    def missing(self) -> int:
        with self._lock:
            return sum(1 for k in self.sent if k not in self.arrived)

    def latencies(self, direction: str, first_seq: int = 0) -> list[float]:
        with self._lock:
            return [self.arrived[k] - t for k, t in self.sent.items()
                    if k[0] == direction and k[2] >= first_seq and k in self.arrived]

    def lost(self, direction: str) -> int:
        with self._lock:
            return sum(1 for k in self.sent if k[0] == direction and k not in self.arrived)


def drive(ledger: Ledger, customers: list[Customer], agent_of: dict[int, AgentConsole], duration: float,
          interval: float, server_pid: int, progress=print, first_seq: int = 0) -> dict:
    """The load itself: a timetable of sends played by one thread, then a grace period for stragglers.
    Latencies are summarised over everything in the ledger (earlier windows included); the CPU, memory
    and rate figures are this window's."""
    n = len(customers)
    timetable = []
    for i, customer in enumerate(customers):
        offset = interval * i / n
        for k in range(int(duration / interval)):
            timetable.append((offset + k * interval, "c2a", i, first_seq + k))
            timetable.append((offset + k * interval + interval / 2, "a2c", i, first_seq + k))
    timetable.sort()

    peak_rss, stop_sampling = [rss_mb(server_pid)], threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(1.0):
            peak_rss.append(rss_mb(server_pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu_before, own_before = cpu_seconds(server_pid), _own_cpu()
    lag_max, started = 0.0, time.perf_counter()
    for at, direction, i, seq in timetable:
        delay = started + at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            lag_max = max(lag_max, -delay)
        customer = customers[i]
        cid = customer.conversation_id
        key = (direction, cid, seq)
        text = Ledger.text(direction, cid, seq)
        ledger.mark_sent(key, time.perf_counter())
        try:
            if direction == "c2a":
                customer.send(text, f"b{direction}{cid}-{seq}", callback=ledger.ack)
            else:
                agent_of[cid].send(cid, text, f"b{direction}{cid}-{seq}", callback=ledger.ack)
        except Exception as err:  # a dropped socket: its messages count as lost
            ledger.ack({"ok": False, "error": f"emit failed: {type(err).__name__}"})
    load_time = time.perf_counter() - started
    deadline = time.monotonic() + GRACE
    while ledger.missing() and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu_used = cpu_seconds(server_pid) - cpu_before
    own_used = _own_cpu() - own_before
    stop_sampling.set()
    sampler.join(2)
    result = {}
    for direction, label in (("c2a", "customer_to_agent"), ("a2c", "agent_to_customer")):
        result[label] = {**summarize_ms(ledger.latencies(direction)), "lost": ledger.lost(direction)}
    result.update({
        "sent": len(ledger.sent), "delivered": len(ledger.arrived), "duplicates": ledger.duplicates,
        "ack_errors": len(ledger.ack_errors), "ack_error_examples": sorted(set(ledger.ack_errors))[:5],
        "load_s": round(load_time, 2), "messages": len(timetable),
        "window_p99_ms": summarize_ms(ledger.latencies("c2a", first_seq)
                                      + ledger.latencies("a2c", first_seq))["p99_ms"],
        "messages_per_s": round(len(timetable) / load_time, 1), "sender_lag_max_ms": round(lag_max * 1000, 1),
        "server_rss_mb_peak": max(peak_rss), "server_cpu_s": round(cpu_used, 1),
        "server_cpu_share": round(cpu_used / load_time, 2), "load_generator_cpu_share": round(own_used / load_time, 2),
        "load_average_after": load_average(),
    })
    return result


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _parallel(fn, items, workers: int = CONNECT_WORKERS) -> list:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


def _close_all(clients) -> None:
    _parallel(lambda c: c.close(), clients, workers=16)


# --- ours ------------------------------------------------------------------------------------------

class _Side:
    """One server under test with its clients connected: ours or the echo."""

    def __init__(self, name: str, pid: int, customers: list[Customer], agent_of: dict[int, AgentConsole],
                 consoles: list[AgentConsole], ledger: Ledger) -> None:
        self.name, self.pid, self.customers, self.agent_of = name, pid, customers, agent_of
        self.consoles, self.ledger = consoles, ledger
        self.windows: list[dict] = []
        self.extra: dict = {"server_rss_mb_before_load": rss_mb(pid)}

    def run_window(self, duration: float, interval: float, progress) -> None:
        first_seq = sum(int(w["messages"] / 2 / len(self.customers)) for w in self.windows)
        with collector_paused():
            self.windows.append(drive(self.ledger, self.customers, self.agent_of, duration, interval, self.pid,
                                      progress, first_seq=first_seq))

    def result(self) -> dict:
        """The last window's summary (latencies pooled over all windows) with the rates over all of them."""
        last, load = dict(self.windows[-1]), sum(w["load_s"] for w in self.windows)
        cpu, own = sum(w["server_cpu_s"] for w in self.windows), sum(
            w["load_generator_cpu_share"] * w["load_s"] for w in self.windows)
        last.update({
            "windows": len(self.windows), "window_p99_ms": [w["window_p99_ms"] for w in self.windows],
            "load_s": round(load, 2),
            "messages": sum(w["messages"] for w in self.windows),
            "messages_per_s": round(sum(w["messages"] for w in self.windows) / load, 1),
            "sender_lag_max_ms": max(w["sender_lag_max_ms"] for w in self.windows),
            "server_rss_mb_peak": max(w["server_rss_mb_peak"] for w in self.windows),
            "server_cpu_s": round(cpu, 1), "server_cpu_share": round(cpu / load, 2),
            "load_generator_cpu_share": round(own / load, 2),
        })
        last.update(self.extra)
        return last

    def close(self) -> None:
        _close_all(self.customers)
        _close_all(self.consoles)


def measure(bench: BenchStack, conversations: int, agents: int, duration: float, interval: float,
            progress=print, rounds: int = 2, first_agent: int = 1) -> dict:
    """Ours and the echo, both connected at once, take turns under the same load: ours, echo, echo,
    ours, ... for `rounds` windows each of duration / rounds. A one-off slow spell of the machine then
    falls on both sides, not on whichever happened to run second (single back-to-back runs of 30 s gave
    echo p99s from 6 to 21 ms on the same machine within the hour)."""
    ours = _connect_ours(bench, conversations, agents, progress, first_agent)
    try:
        echo = _connect_echo(bench, conversations, agents, progress)
        try:
            window = duration / rounds
            for r in range(rounds):
                for side in ((ours, echo) if r % 2 == 0 else (echo, ours)):
                    progress(f"relay: window {r + 1}/{rounds}, {side.name}, {window:.0f} s")
                    side.run_window(window, interval, progress)
            result = {"ours": ours.result(), "echo": echo.result()}
            result["ours"]["rss_mb_after"] = bench.rss()
            return result
        finally:
            echo.close()
            echo.stop()
    finally:
        ours.close()


def _connect_ours(bench: BenchStack, conversations: int, agents: int, progress=print, first_agent: int = 1) -> _Side:
    setup: dict[str, float] = {}
    ledger = Ledger()

    t = time.monotonic()
    out = subprocess.run([str(APP_BIN / "python"), "-m", "bench.seed_agents", str(agents), AGENT_PASSWORD,
                          str(first_agent)],
                         env=bench.env, cwd=PROJECT_ROOT, check=True, capture_output=True, text=True)
    emails = out.stdout.split()
    setup["create_agents_s"] = time.monotonic() - t

    t = time.monotonic()
    consoles = _parallel(lambda e: AgentConsole.login(bench.url, e, AGENT_PASSWORD,
                                                      on_message=ledger.on_message("customer")).connect(), emails)
    setup["agents_log_in_and_connect_s"] = time.monotonic() - t

    customers: list[Customer] = []
    try:
        t = time.monotonic()
        customers = _parallel(lambda _: Customer(bench.url, on_message=ledger.on_message("agent")).connect(),
                              range(conversations))
        setup["customers_connect_s"] = time.monotonic() - t
        progress(f"relay: {agents} agents and {conversations} customers connected")

        # Each chat is handed off and accepted before the next is handed off, as a desk that keeps up
        # does. Queueing all of them first made every handoff read, and every agent receive, a line of
        # up to 1,000 (O(n^2) set-up: 0.3-0.9 s a handoff at 1,000, and the agents' consoles in this
        # process missed their pings parsing the queue events).
        agent_of: dict[int, AgentConsole] = {}
        handoff_times, accept_times = [], []
        for i, customer in enumerate(customers):
            started = time.monotonic()
            result = bench.handoff(customer.conversation_id)
            handoff_times.append(time.monotonic() - started)
            if result.get("status") != "queued":
                raise RuntimeError(f"handoff did not queue the conversation: {result}")
            console = consoles[i % len(consoles)]
            started = time.monotonic()
            ack = console.call("accept", {"conversation_id": customer.conversation_id}, timeout=60)
            accept_times.append(time.monotonic() - started)
            if not ack.get("ok"):
                raise RuntimeError(f"accept failed: {ack}")
            agent_of[customer.conversation_id] = console
        setup["handoff_all_s"] = sum(handoff_times)
        setup["handoff_first_ms"] = handoff_times[0] * 1000
        setup["handoff_last_ms"] = handoff_times[-1] * 1000
        setup["accept_all_s"] = sum(accept_times)
        setup["accept_first_ms"] = accept_times[0] * 1000
        setup["accept_last_ms"] = accept_times[-1] * 1000
        progress(f"relay: {conversations} conversations handed off ({setup['handoff_all_s']:.1f} s) "
                 f"and accepted ({setup['accept_all_s']:.1f} s)")
    except BaseException:
        _close_all(customers)
        _close_all(consoles)
        raise
    side = _Side("ours", bench.pid("web"), customers, agent_of, consoles, ledger)
    side.extra["setup"] = {k: round(v, 2) for k, v in setup.items()}
    return side


# --- the bare echo server --------------------------------------------------------------------------

def echo_command(bench: BenchStack, port: int) -> list[str]:
    """The service's own gunicorn command line with the echo app on another port."""
    argv = list(bench.stack.commands()["web"])
    argv[argv.index("-b") + 1] = f"127.0.0.1:{port}"
    argv[-1] = "bench.echo_server:app"
    return argv


class _EchoSide(_Side):
    def __init__(self, proc: subprocess.Popen, log, *args) -> None:
        super().__init__("echo", proc.pid, *args)
        self.proc, self.log = proc, log

    def stop(self) -> None:
        _stop(self.proc, self.log)


def _stop(proc: subprocess.Popen, log) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def _connect_echo(bench: BenchStack, conversations: int, agents: int, progress=print) -> _EchoSide:
    port = free_port()
    log = open(Path(bench.var_dir) / "echo.log", "ab")
    proc = subprocess.Popen(echo_command(bench, port), env=bench.env, cwd=PROJECT_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    ledger = Ledger()
    customers: list[Customer] = []
    consoles: list[AgentConsole] = []
    try:
        _wait_listening(port, proc)
        ids = list(range(1, conversations + 1))
        rooms = {k: [cid for i, cid in enumerate(ids) if i % agents == k] for k in range(agents)}
        consoles = _parallel(lambda k: AgentConsole(url, on_message=ledger.on_message("customer"),
                                                    auth={"rooms": rooms[k]}).connect(), range(agents))
        customers = _parallel(lambda cid: Customer(url, on_message=ledger.on_message("agent"),
                                                   auth={"room": cid}).connect(), ids)
        agent_of = {cid: consoles[i % agents] for i, cid in enumerate(ids)}
        progress(f"echo: {agents} agents and {conversations} customers connected")
        return _EchoSide(proc, log, customers, agent_of, consoles, ledger)
    except BaseException:
        _close_all(customers)
        _close_all(consoles)
        _stop(proc, log)
        raise


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the echo server exited at start-up; see echo.log in the bench var directory")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the echo server did not start listening")
