"""kill -9 of each process under load: the supervisor brings it back, and every message a customer saw
acknowledged is stored once and answered."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import Customer

# Seconds from kill -9 to a healthy stack, for every process, Rasa included (it starts in about 15 s
# since its pipeline has no TensorFlow model to trace). Meanwhile customers get the offer of a person or
# a ticket, which counts as an answer.
RECOVERY_SECONDS = 30
pytestmark = pytest.mark.timeout(1200)
CUSTOMERS = 5


class Load:
    """Customers chatting through the fault, reconnecting as the widget does, each waiting (a little)
    for an answer before the next message. Records every acknowledged message."""

    def __init__(self, url: str, tag: str):
        self.url, self.tag = url, tag
        self.acknowledged: list[str] = []  # client_msg_ids
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._chat, args=(i,), daemon=True) for i in range(CUSTOMERS)]

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def _chat(self, i: int) -> None:
        visitor, n, customer = f"fault-{self.tag}-{i}-visitor", 0, None
        while not self.stop.is_set():
            try:
                if customer is None or not customer.sio.connected:
                    customer = Customer(self.url, visitor).connect()
                client_msg_id = f"{self.tag}-{i}-{n}"
                ack = customer.sio.call("customer_message", {"text": "hello", "client_msg_id": client_msg_id},
                                        namespace="/chat", timeout=10)
                n += 1
                if ack.get("ok"):
                    with self._lock:
                        self.acknowledged.append(client_msg_id)
                    deadline = time.monotonic() + 3
                    while time.monotonic() < deadline and not customer.replies_after(ack["id"]):
                        time.sleep(0.05)
            except Exception:  # the process behind the socket died: reconnect, as the widget does
                customer = None
                time.sleep(0.5)
        if customer is not None:
            customer.close()


def counts(db: Path, acknowledged: list[str]) -> dict:
    """Of the acknowledged messages: how many are stored (and how many twice), and how many answered.
    Every customer message gets at least one bot or system message after it, so a message is answered
    when its conversation has at least as many of those after it as customer messages from it on."""
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute(
            f"SELECT client_msg_id, COUNT(*) FROM messages WHERE client_msg_id IN ({','.join('?' * len(acknowledged))}) "
            "GROUP BY client_msg_id", acknowledged).fetchall())
        answered = conn.execute(f"""
            SELECT COUNT(*) FROM messages m WHERE m.client_msg_id IN ({','.join('?' * len(acknowledged))})
            AND (SELECT COUNT(*) FROM messages r WHERE r.conversation_id = m.conversation_id AND r.id > m.id
                 AND r.sender != 'customer')
             >= (SELECT COUNT(*) FROM messages c WHERE c.conversation_id = m.conversation_id AND c.id >= m.id
                 AND c.sender = 'customer')""", acknowledged).fetchone()[0]
    return {"acknowledged": len(acknowledged), "stored": len(stored),
            "stored twice": sum(1 for v in stored.values() if v > 1), "answered": answered}


def counts_once_answered(db: Path, acknowledged: list[str], seconds: float = 60) -> dict:
    """`counts`, once every acknowledged message is answered or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        seen = counts(db, acknowledged)
        if seen["answered"] == seen["acknowledged"] or time.monotonic() > deadline:
            return seen
        time.sleep(1)


def healthy_within(url: str, seconds: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return None


def worker_of(master_pid: int) -> int:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return int(children[0])


@pytest.mark.parametrize("victim", ["web worker", "web", "actions", "rasa"])
def test_killed_process_is_restarted_and_every_acknowledged_message_is_answered(stack, victim):
    assert healthy_within(stack.url, 120) is not None, "the stack was not healthy before the fault"
    name = victim.split()[0]
    with Load(stack.url, victim.replace(" ", "_")) as load:
        time.sleep(3)
        pid = stack.supervisor.pid(name)
        if victim == "web worker":
            pid = worker_of(pid)
        os.kill(pid, signal.SIGKILL)
        time.sleep(1)
        limit = RECOVERY_SECONDS
        recovered = healthy_within(stack.url, limit)
        assert recovered is not None, (f"not healthy {limit} s after kill -9 of {victim}:\n"
                                       f"{stack.log_tail('supervisord')}\n{stack.log_tail(name)}")
        time.sleep(3)  # chatting on the recovered stack
    assert stack.supervisor.pid(name) != pid or victim == "web worker"
    db = Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))
    seen = counts_once_answered(db, load.acknowledged)
    print(f"kill -9 {victim}: healthy again after {recovered + 1:.1f} s; {seen}")
    assert seen["acknowledged"] >= CUSTOMERS
    assert seen == {"acknowledged": seen["acknowledged"], "stored": seen["acknowledged"], "stored twice": 0,
                    "answered": seen["acknowledged"]}


def test_database_refusing_writes_for_a_while_loses_no_acknowledged_message(stack):
    """Another process holds SQLite's write lock for longer than the service waits for it (a backup tool,
    a stuck migration): messages sent meanwhile are refused, not acknowledged; nothing acknowledged is
    lost or stored twice, and every one is answered once the database takes writes again."""
    assert healthy_within(stack.url, 120) is not None, "the stack was not healthy before the fault"
    db = Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with Load(stack.url, "db_locked") as load:
        time.sleep(3)
        before = len(load.acknowledged)
        locker = sqlite3.connect(db, timeout=30, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        time.sleep(12)
        during = len(load.acknowledged) - before
        locker.execute("COMMIT")
        locker.close()
        recovered = healthy_within(stack.url, 30)
        assert recovered is not None, f"not healthy 30 s after the lock was released:\n{stack.log_tail('web')}"
        time.sleep(3)
    seen = counts_once_answered(db, load.acknowledged)
    print(f"database locked 12 s: {during} messages acknowledged meanwhile; {seen}")
    assert seen["acknowledged"] >= CUSTOMERS
    assert seen == {"acknowledged": seen["acknowledged"], "stored": seen["acknowledged"], "stored twice": 0,
                    "answered": seen["acknowledged"]}
