"""The service's gunicorn worker: gevent's, one new connection per turn of the loop, pings on timers.

gevent's server accepts up to 100 connections each time the listening socket is readable, and each one's
greenlet reads and parses its request in the same turn. A burst of 500 widgets opening at once (a
newsletter, a restart) thus put hundreds of handshakes in the loop's queue at once, and an agent's event
or a /healthz request that came in meanwhile waited behind all of them: 80-240 ms, in every burst of the
capacity benchmark, with 5,000 sockets open.

This worker accepts one connection, then waits for the loop's next pass over its queue before it takes
the next: whatever was queued before (the agents' events, the requests of open sockets, the connections
already taken) runs first. When the loop is idle that costs nothing (a pass takes microseconds); when it
is busy, new connections wait in the kernel's listen backlog, where they cost this process nothing,
instead of in the loop's queue, where they delay everyone. Measured with the same bursts: the agents'
slowest answers went from 80-240 ms to 40-95 ms; a burst of 500 takes ~4 s to connect instead of ~3.

It also pings each Engine.IO socket from a timer of the loop (timer_pings). python-engineio waits for a
socket's next ping in a greenlet of its own that sleeps ping_interval (20 s), so every open widget kept
one such greenlet parked, about 8 KB each (its saved stack and frames): 40 MB of a process holding
5,000 widgets. A timer is a few hundred bytes; the greenlet that sends the ping lives only while it does.

Run it with `gunicorn -k handoff.ops.worker.PacedGeventWorker`.
"""
from __future__ import annotations

import time

import gevent
from gevent.server import StreamServer
from gunicorn.workers import ggevent


class PacedStreamServer(StreamServer):
    """A StreamServer that accepts one connection per pass of the loop's queue."""

    max_accept = 1

    def _do_read(self):
        super()._do_read()
        if self._watcher is not None:  # still accepting (not closed, not stopped by a full pool): pause
            self.stop_accepting()
            self.loop.run_callback(self._start_accepting_if_started)  # resumes unless closed meanwhile


def _ping(sock) -> None:
    """What python-engineio's Socket._send_ping does once its sleep is over."""
    from engineio import packet

    if not sock.closing and not sock.closed:
        sock.last_ping = time.time()
        sock.send(packet.Packet(packet.PING))  # may close a silent socket, running its disconnect: a greenlet's job


def _schedule_ping(sock) -> None:
    """Socket.schedule_ping with a timer for the wait (same condition, same interval)."""
    if sock.last_ping:
        sock.last_ping = None
        timer = gevent.get_hub().loop.timer(sock.server.ping_interval)
        timer.start(_due, timer, sock)


def _due(timer, sock) -> None:
    timer.close()  # drops its callback and arguments: nothing is left to refer to the socket
    gevent.spawn(_ping, sock)


def timer_pings() -> None:
    """Have every Engine.IO socket of this process wait for its next ping on a timer, not in a greenlet."""
    from engineio.socket import Socket

    Socket.schedule_ping = _schedule_ping


class PacedGeventWorker(ggevent.GeventWorker):
    """gunicorn's gevent worker (`-k gevent`) with PacedStreamServer for its listening sockets and
    Engine.IO pings on timers."""

    def run(self):
        # GeventWorker.run builds its servers from the module's StreamServer; this process runs only this
        # worker, so it gets ours.
        ggevent.StreamServer = PacedStreamServer
        timer_pings()
        super().run()
