"""Entry point for gunicorn: `gunicorn handoff.wsgi:app`."""
from . import agents, create_app, scheduler

app = create_app()
if not app.config["REDIS_URL"]:
    agents.reset_presence()  # one process: no agent's socket survived its restart
jobs = scheduler.start()
