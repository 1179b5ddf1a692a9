"""Bot reply latency through the whole stack, beside Rasa's own REST webhook with the same messages.

Ours: a customer socket on /chat sends `customer_message`; the clock stops at the first `message` event from
the bot (or the system) stored after it. That path includes storing the message, relaying it to Rasa's REST
webhook, Rasa running the custom actions (which call the handoff API) and storing and publishing the answer.

Reference: the same conversations posted straight to Rasa's REST webhook; the actions still run, so this is
Rasa's own time. Each conversation sends its next message once the previous one is answered; conversations
are ten turns long, then the worker starts a fresh one, so trackers stay a realistic size on both sides.
"""
from __future__ import annotations

import itertools
import math
import queue
import statistics
import threading
import time

import requests

from .clients import Customer
from .common import BenchStack, collector_paused, summarize_ms

FAQS = [
    "how long does a refund take",
    "i forgot my password",
    "what payment methods do you accept",
    "where is my order",
    "how do I cancel my subscription",
    "can I pay with PayPal",
    "do you ship internationally",
    "my payment was declined",
    "how do I change my email address",
    "can I return an item",
    "how do I reset my password",
]
GREETINGS = ["hi", "hello there", "good morning"]
TURNS = 10
REPLY_TIMEOUT = 15.0
THINK_TIME = 0.05  # lets the rest of a multi-part answer arrive before the next question, on both sides


def script(n: int) -> list[str]:
    """Conversation n: a greeting, FAQ questions, small talk and a goodbye (all stay with the bot)."""
    f = [FAQS[(n * 3 + k) % len(FAQS)] for k in range(5)]
    return [GREETINGS[n % len(GREETINGS)], f[0], f[1], "thanks", f[2], "are you a bot?", f[3], f[4],
            "thank you so much", "bye"][:TURNS]


class _Run:
    """One measured phase: `samples` turns spread over conversations served by `concurrency` workers."""

    def __init__(self, samples: int, concurrency: int, first_conversation: int, deadline_s: float):
        self.samples, self.concurrency = samples, concurrency
        self.todo = queue.Queue()
        for n in range(math.ceil(samples / TURNS)):
            self.todo.put(first_conversation + n)
        self.latencies: list[float] = []
        self.by_turn: dict[tuple[int, int], float] = {}  # (conversation, turn) -> latency, to pair the sides
        self.acks: list[float] = []  # ours only: send -> acknowledgement (message stored)
        self.failures: list[str] = []
        self._taken = itertools.count()
        self._lock = threading.Lock()
        self.deadline = time.monotonic() + deadline_s

    def take_turn(self) -> bool:
        """A ticket to measure one more turn; False once enough were taken or time is up."""
        return next(self._taken) < self.samples and time.monotonic() < self.deadline

    def record(self, latency: float | None, failure: str | None = None, turn: tuple[int, int] | None = None) -> None:
        with self._lock:
            if latency is not None:
                self.latencies.append(latency)
                if turn is not None and failure is None:
                    self.by_turn[turn] = latency
            if failure:
                self.failures.append(failure)

    def run(self, worker) -> float:
        started = time.monotonic()
        threads = [threading.Thread(target=self._loop, args=(worker,), daemon=True) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, self.deadline - time.monotonic() + REPLY_TIMEOUT + 5))
        return time.monotonic() - started

    def _loop(self, worker) -> None:
        while True:
            try:
                n = self.todo.get_nowait()
            except queue.Empty:
                return
            try:
                if not worker(self, n):
                    return
            except Exception as err:  # a broken socket or HTTP error ends this conversation, not the run
                self.record(None, f"{type(err).__name__}: {err}")


class _Chat:
    """Collects the bot's and the system's messages of one customer socket."""

    def __init__(self):
        self.replies: list[tuple[int, float, dict]] = []
        self.cond = threading.Condition()

    def on_message(self, _customer, message: dict, arrived: float) -> None:
        if message.get("sender") in ("bot", "system"):
            with self.cond:
                self.replies.append((message["id"], arrived, message))
                self.cond.notify_all()

    def first_after(self, message_id: int, timeout: float) -> tuple[float, dict] | None:
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for mid, arrived, message in self.replies:
                    if mid > message_id:
                        return arrived, message
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def _ours(url: str):
    ids = itertools.count()

    def worker(run: _Run, n: int) -> bool:
        chat = _Chat()
        customer = Customer(url, on_message=chat.on_message).connect()
        try:
            for turn, text in enumerate(script(n)):
                if not run.take_turn():
                    return False
                sent = time.perf_counter()
                ack = customer.call(text, f"bot-{n}-{next(ids)}", timeout=REPLY_TIMEOUT)
                run.acks.append(time.perf_counter() - sent)
                if not ack.get("ok"):
                    run.record(None, f"refused: {ack.get('error')}")
                    continue
                got = chat.first_after(ack["id"], REPLY_TIMEOUT)
                if got is None:
                    run.record(None, f"no reply within {REPLY_TIMEOUT:.0f} s to {text!r}")
                    continue
                arrived, message = got
                failure = "bot unavailable (system message)" if message["sender"] == "system" else None
                run.record(arrived - sent, failure, turn=(n, turn))
                time.sleep(THINK_TIME)
        finally:
            customer.close()
        return True

    return worker


def _rasa(rasa_url: str, token: str, senders: list[str]):
    local = threading.local()

    def worker(run: _Run, n: int) -> bool:
        http = getattr(local, "http", None) or requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"  # the REST channel answers only the service
        local.http = http
        sender = senders[n]
        for turn, text in enumerate(script(n)):
            if not run.take_turn():
                return False
            sent = time.perf_counter()
            resp = http.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                             timeout=REPLY_TIMEOUT)
            elapsed = time.perf_counter() - sent
            if resp.status_code != 200 or not resp.json():
                run.record(None, f"rasa answered HTTP {resp.status_code} {resp.text[:80]!r}")
                continue
            run.record(elapsed, turn=(n, turn))
            time.sleep(THINK_TIME)
        return True

    return worker


def _paired(ours: dict, rasa: dict) -> dict:
    """Both sides answer the very same turns: the median of ours minus Rasa's, turn by turn. Unlike the
    p50s' difference it cannot flip between the quick replies and the FAQ answers (two groups whose gap
    the median may fall into: one run read +65% at p50 where the means differed by 5 ms)."""
    diffs = [(ours[k] - rasa[k]) * 1000 for k in ours.keys() & rasa.keys()]
    if not diffs:
        return {"n": 0, "median_diff_ms": None}
    return {"n": len(diffs), "median_diff_ms": round(statistics.median(diffs), 2)}


def _reference_senders(url: str, count: int) -> list[str]:
    """Real conversation ids for the reference, so actions that look the customer up find one."""
    senders = []
    for _ in range(count):
        customer = Customer(url).connect()
        senders.append(str(customer.conversation_id))
        customer.close()
    return senders


def measure(bench: BenchStack, plan: dict[int, int], progress=print) -> dict:
    """plan: concurrency -> samples. Ours and Rasa alternate in halves (A B B A) so drift hits both, and
    each half of one side replays the very conversations of the other side's half beside it, so both
    sides answer the same messages (a FAQ answer takes Rasa longer than a greeting)."""
    conversations_needed = 1 + sum(2 * math.ceil((s // 2) / TURNS) for s in plan.values())
    senders = _reference_senders(bench.url, conversations_needed)
    ours, rasa = _ours(bench.url), _rasa(bench.rasa_url, bench.env["RASA_TOKEN"], senders)
    next_conversation = itertools.count(0, 1)

    def conversations(samples: int) -> int:
        first = next(next_conversation)
        for _ in range(math.ceil(samples / TURNS) - 1):
            next(next_conversation)
        return first

    def phase(worker, samples: int, concurrency: int, first: int) -> _Run:
        run = _Run(samples, concurrency, first, deadline_s=max(60.0, samples * 1.0))
        with collector_paused():
            run.elapsed = run.run(worker)
        return run

    progress("bot: warming up both paths")
    warm_up = conversations(TURNS)
    phase(ours, TURNS, 1, warm_up)
    phase(rasa, TURNS, 1, warm_up)

    results = {}
    for concurrency, samples in plan.items():
        half = samples // 2
        first, second = conversations(half), conversations(half)
        runs = {"ours": [], "rasa": []}
        for name, worker, start in (("ours", ours, first), ("rasa", rasa, first), ("rasa", rasa, second),
                                    ("ours", ours, second)):
            run = phase(worker, half, concurrency, start)
            runs[name].append(run)
            progress(f"bot: c={concurrency} {name:4} {len(run.latencies)} replies in {run.elapsed:.1f} s"
                     + (f", {len(run.failures)} failures" if run.failures else ""))
        entry = {}
        for name, parts in runs.items():
            latencies = [x for r in parts for x in r.latencies]
            failures = [f for r in parts for f in r.failures]
            elapsed = sum(r.elapsed for r in parts)
            entry[name] = {**summarize_ms(latencies), "failures": len(failures),
                           "failure_examples": sorted(set(failures))[:5],
                           "throughput_per_s": round(len(latencies) / elapsed, 1) if elapsed else None}
            acks = [x for r in parts for x in r.acks]
            if acks:
                entry[name]["ack"] = summarize_ms(acks)
        ours_p50, rasa_p50 = entry["ours"]["p50_ms"], entry["rasa"]["p50_ms"]
        entry["overhead_p50"] = (round((ours_p50 - rasa_p50) / rasa_p50, 3)
                                 if ours_p50 is not None and rasa_p50 else None)
        entry["overhead_p50_ms"] = (round(ours_p50 - rasa_p50, 1)
                                    if ours_p50 is not None and rasa_p50 is not None else None)
        by_turn = {name: {turn: x for r in parts for turn, x in r.by_turn.items()} for name, parts in runs.items()}
        entry["paired"] = _paired(by_turn["ours"], by_turn["rasa"])
        results[str(concurrency)] = entry
    results["messages"] = {"greetings": GREETINGS, "faqs": FAQS, "turns_per_conversation": TURNS,
                           "think_time_s": THINK_TIME}
    return results
