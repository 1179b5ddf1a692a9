"""New Socket.IO connections wait for a quiet moment of the loop, one at a time.

A burst of widgets opening at once (a newsletter, the service's restart) brings hundreds of Engine.IO
handshakes in the same instant. Each costs a millisecond or two of the loop's CPU, and run back to back
they held /healthz and the agents' events for up to a second. Behind this middleware each new
connection (an Engine.IO request without a session id) first waits, one at a time, until the loop has
nothing else to do; requests of sockets already open, and every other page, pass straight through.
A connection waits at most MAX_WAIT seconds, queueing included (clients give up on a handshake after
5 s, python-engineio's default, or 20 s, a browser's): past that, the rest of a burst goes through as
it comes. A process that is full lets new connections straight through: the chat namespace refuses
them at once ("busy"), and they need not wait in line (up to MAX_WAIT) to hear it. Without the
cooperative worker it changes nothing.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from handoff.realtime import after_the_rest

MAX_WAIT = 2.0


class ArrivalsTakeTurns:
    def __init__(self, app, path: str = "/socket.io/", full: Callable[[], bool] = lambda: False):
        self.app = app
        self.path = path
        self.full = full
        self._turn = threading.Lock()  # gevent's lock under the cooperative worker, which patches threading

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO", "").startswith(self.path) and "sid=" not in environ.get("QUERY_STRING", "")
                and not self.full()):
            deadline = time.monotonic() + MAX_WAIT
            with self._turn:
                after_the_rest(deadline - time.monotonic())
        return self.app(environ, start_response)
