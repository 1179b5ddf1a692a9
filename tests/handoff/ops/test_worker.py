"""The service's worker takes one new connection per turn of its loop, so a burst of connections waiting
to be accepted cannot hold up what is already queued (an agent's event, /healthz)."""
from __future__ import annotations

import io
import socket
import time
from itertools import pairwise

import gevent
import pytest
from gevent.server import StreamServer

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
    from handoff.ops.stack import WORKER

    module, _, name = WORKER.rpartition(".")
    assert (module, name) == (PacedGeventWorker.__module__, PacedGeventWorker.__name__)
    pytest.importorskip("gunicorn.workers.ggevent")
