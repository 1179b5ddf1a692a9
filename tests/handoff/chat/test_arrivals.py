"""New Socket.IO connections take turns (ArrivalsTakeTurns); a full process does not make them queue to be
refused."""
from __future__ import annotations

import threading

from handoff.chat.sockets.arrivals import ArrivalsTakeTurns


def _handshake(middleware: ArrivalsTakeTurns) -> threading.Thread:
    environ = {"PATH_INFO": "/socket.io/", "QUERY_STRING": "EIO=4&transport=websocket"}
    thread = threading.Thread(target=middleware, args=(environ, None), daemon=True)
    thread.start()
    return thread


def test_a_new_connection_waits_for_the_one_before_it_unless_the_process_is_full():
    through: list = []
    state = {"full": False}
    middleware = ArrivalsTakeTurns(lambda environ, start_response: through.append(environ) or [b""],
                                   full=lambda: state["full"])
    middleware._turn.acquire()  # another connection is taking its turn
    waiting = _handshake(middleware)
    waiting.join(0.3)
    assert waiting.is_alive() and through == [], "a connection waits while another takes its turn"

    state["full"] = True  # full: the next one goes straight on, to be refused as busy at once
    refused = _handshake(middleware)
    refused.join(5)
    assert not refused.is_alive() and len(through) == 1

    middleware._turn.release()
    waiting.join(5)
    assert len(through) == 2, "the waiting connection goes on once the turn is free"


def test_requests_of_open_sockets_and_pages_never_wait():
    through: list = []
    middleware = ArrivalsTakeTurns(lambda environ, start_response: through.append(environ) or [b""])
    middleware._turn.acquire()
    for environ in ({"PATH_INFO": "/socket.io/", "QUERY_STRING": "EIO=4&transport=polling&sid=abc"},
                    {"PATH_INFO": "/healthz", "QUERY_STRING": ""}):
        thread = threading.Thread(target=middleware, args=(environ, None), daemon=True)
        thread.start()
        thread.join(5)
        assert not thread.is_alive()
    assert len(through) == 2
