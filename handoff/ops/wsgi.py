"""Entry point for gunicorn: `gunicorn handoff.ops.wsgi:app`."""
import gc

from handoff import create_app
from handoff.chat import presence
from handoff.ops import scheduler

app = create_app()
if not app.config["REDIS_URL"]:
    presence.reset()  # one process: no agent's socket survived its restart
else:
    # python-socketio subscribes to the message queue on its first client; subscribe now, so events
    # published by other processes before anyone connects here are not missed.
    server = app.extensions["socketio"].server
    if not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()
jobs = scheduler.start()
# Everything imported so far lives as long as the process: move it out of the garbage collector's sight.
# A full collection walks every tracked object (~120,000 here, 80 ms on this machine's cores), and it
# stalled live chats for that long, several times a minute under load (relay p99 100-250 ms).
gc.collect()
gc.freeze()
app.extensions["knowledge"].warm()  # embed the FAQs now, not when the first customer asks
