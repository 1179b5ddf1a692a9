"""The service's worker takes one new connection per turn of its loop, so a burst of connections waiting
to be accepted cannot hold up what is already queued (an agent's event, /healthz); and it pings open
sockets from timers, not from a sleeping greenlet each."""
from __future__ import annotations

import io
import socket
import subprocess
import time
from itertools import pairwise

import gevent
import pytest
import requests
import socketio
from gevent.server import StreamServer

from handoff.config import PROJECT_ROOT
from handoff.ops.stack import APP_BIN, WORKER
from handoff.ops.worker import PacedGeventWorker, PacedStreamServer

WAITING = 20


def _busy(stop: list) -> None:
    """An open socket's work: a millisecond of CPU, then its turn is over until the loop comes back."""
    while not stop:
        started = time.perf_counter()
        while time.perf_counter() - started < 0.001:
            pass
        gevent.sleep(0)


def _burst_then_probe(server_class) -> tuple[list[int], int]:
    """Start a server with WAITING connections in its backlog, on a loop kept busy by 150 open sockets'
    work, and a greenlet that, like an agent's event, wants the loop once a pass: what the probe saw
    accepted at each of its turns, and the final count."""
    accepted: list[socket.socket] = []
    server = server_class(("127.0.0.1", 0), lambda sock, address: accepted.append(sock) or gevent.sleep(5))
    server.init_socket()
    clients = [socket.create_connection(server.address, timeout=5) for _ in range(WAITING)]
    seen: list[int] = []

    def probe():
        deadline = time.monotonic() + 5
        while len(accepted) < WAITING and time.monotonic() < deadline:
            seen.append(len(accepted))
            gevent.sleep(0)
        seen.append(len(accepted))

    stop: list = []
    busy = [gevent.spawn(_busy, stop) for _ in range(150)]
    try:
        server.start()
        gevent.spawn(probe).join(10)
        return seen, len(accepted)
    finally:
        stop.append(True)
        gevent.joinall(busy)
        server.stop(timeout=0)
        for client in clients:
            client.close()


def test_a_burst_is_accepted_one_connection_per_turn_with_the_loop_serving_in_between():
    seen, accepted = _burst_then_probe(PacedStreamServer)
    assert accepted == WAITING, "every waiting connection is taken in the end"
    steps = [b - a for a, b in pairwise(seen)]
    assert max(steps) == 1, "never more than one new connection between two turns of the probe"
    # (gevent's max_accept=1 alone takes one each time the loop polls, and a busy loop polls more often
    # than its queue comes round: two or more between two turns.)


def test_gevents_own_server_takes_the_whole_burst_in_one_turn():
    # The reference the worker exists for: without pacing the probe waits behind all of them at once.
    seen, accepted = _burst_then_probe(StreamServer)
    assert accepted == WAITING
    assert max(b - a for a, b in pairwise(seen)) == WAITING, "all taken between two turns of the probe"


def test_a_server_closed_while_its_next_turn_is_queued_takes_no_more():
    accepted: list = []
    server = PacedStreamServer(("127.0.0.1", 0), lambda sock, address: accepted.append(sock) or server.close())
    server.init_socket()
    clients = [socket.create_connection(server.address, timeout=5) for _ in range(3)]
    hub = gevent.get_hub()
    errors, hub.exception_stream = hub.exception_stream, io.StringIO()
    try:
        server.start()  # the first connection's handler runs before the queued resume, and closes the server
        gevent.sleep(0.2)
        assert len(accepted) == 1
        assert hub.exception_stream.getvalue() == "", "the queued resume left the closed server alone"
    finally:
        hub.exception_stream = errors
        for client in clients:
            client.close()


def test_the_stack_runs_the_paced_worker():
    module, _, name = WORKER.rpartition(".")
    assert (module, name) == (PacedGeventWorker.__module__, PacedGeventWorker.__name__)
    pytest.importorskip("gunicorn.workers.ggevent")


@pytest.fixture
def ping_server():
    """tests/handoff/ops/ping_app.py (pings every second, a socket silent for 2 s is gone) under the worker."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = subprocess.Popen([str(APP_BIN / "gunicorn"), "-k", WORKER, "-w", "1", "-b", f"127.0.0.1:{port}",
                            "tests.handoff.ops.ping_app:app"], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and web.poll() is None:
            try:
                requests.get(f"{url}/socket.io/?EIO=4&transport=polling", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert web.poll() is None, "gunicorn exited:\n" + web.stderr.read().decode()[-2000:]
        yield url
    finally:
        web.terminate()
        web.wait(10)


def test_sockets_are_pinged_from_timers_and_stay_connected_without_a_sleeping_greenlet_each(ping_server):
    clients = []
    try:
        first = socketio.Client(reconnection=False)
        first.connect(ping_server, transports=["websocket"], wait_timeout=5)
        clients.append(first)
        alone = first.call("greenlets", timeout=5)
        for _ in range(10):
            client = socketio.Client(reconnection=False)
            client.connect(ping_server, transports=["websocket"], wait_timeout=5)
            clients.append(client)
        # A client hangs up when no ping came for ping_interval + ping_timeout (2 s): three of those.
        time.sleep(6)
        assert all(c.connected for c in clients), "every socket was pinged in time"
        per_socket = (first.call("greenlets", timeout=5) - alone) / 10
        # Each socket's reader, writer and request greenlets; python-engineio's ping wait would be a 4th.
        assert per_socket <= 3, per_socket
    finally:
        for client in clients:
            client.disconnect()
