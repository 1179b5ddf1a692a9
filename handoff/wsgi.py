"""Entry point for gunicorn: `gunicorn handoff.wsgi:app`."""
from . import agents, create_app, scheduler

app = create_app()
if not app.config["REDIS_URL"]:
    agents.reset_presence()  # one process: no agent's socket survived its restart
else:
    # python-socketio subscribes to the message queue on its first client; subscribe now, so events
    # published by other processes before anyone connects here are not missed.
    server = app.extensions["socketio"].server
    if not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()
jobs = scheduler.start()
app.extensions["knowledge"].warm()  # embed the FAQs now, not when the first customer asks
