"""A bare python-socketio app with short pings, served by the service's worker in test_worker.py."""
import gc

import greenlet
import socketio

sio = socketio.Server(async_mode="gevent", ping_interval=1, ping_timeout=1)
app = socketio.WSGIApp(sio)


@sio.event
def greenlets(sid):
    """How many greenlets this process keeps (the loop's own and every open socket's)."""
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead)
