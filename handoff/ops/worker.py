"""The service's gunicorn worker: gevent's, taking one new connection per turn of the loop.

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
and /healthz's slowest answers went from 80-240 ms to 40-100 ms, and the bursts connected as fast.

Run it with `gunicorn -k handoff.ops.worker.PacedGeventWorker`.
"""
from __future__ import annotations

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


class PacedGeventWorker(ggevent.GeventWorker):
    """gunicorn's gevent worker (`-k gevent`) with PacedStreamServer for its listening sockets."""

    def run(self):
        # GeventWorker.run builds its servers from the module's StreamServer; this process runs only this
        # worker, so it gets ours.
        ggevent.StreamServer = PacedStreamServer
        super().run()
