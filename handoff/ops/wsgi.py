"""Entry point for gunicorn: `gunicorn handoff.ops.wsgi:app`."""
import gc
import logging
import threading
import time
from datetime import timedelta

from handoff import create_app
from handoff.chat import customer_presence
from handoff.routing import presence
from handoff.models import utcnow
from handoff.ops import collector, scheduler

log = logging.getLogger("careregistry.wsgi")


def _die_with_master() -> None:
    """Have the kernel kill this worker when gunicorn's master dies (kill -9, OOM). An orphaned worker
    keeps the port, so the supervisor's new master could not bind it until the orphan noticed."""
    try:
        import ctypes
        import os
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG; Linux only, elsewhere the call fails harmlessly
        if os.getppid() == 1:  # the master died before the request above was made
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _keep_trying(job, name: str) -> None:
    """Run a start-up write now, or retry it in the background until the database takes it.

    A worker whose start-up raises makes gunicorn's master exit; a database that is read-only for a while
    must not take the whole service down with it: the worker serves, /healthz shows the database down.
    """
    try:
        job()
        return
    except Exception as err:  # noqa: BLE001 - any driver error; retried below
        log.warning("start-up job failed job=%s error=%s retrying=yes", name, type(err).__name__)

    def retry() -> None:
        delay = 1.0
        while True:
            time.sleep(delay)
            try:
                job()
                log.info("start-up job done job=%s", name)
                return
            except Exception as err:  # noqa: BLE001
                delay = min(delay * 2, 60)
                log.warning("start-up job failed job=%s error=%s retry_in=%.0fs", name, type(err).__name__, delay)

    threading.Thread(target=retry, daemon=True, name=f"startup-{name}").start()


def _answer_unanswered(relay, stored_before) -> None:
    """Questions the previous process acknowledged but never answered get their answer, once Rasa is up
    (after a restart of everything it loads its model long after this process serves)."""
    relay.wait_for_rasa(timeout=180)
    _keep_trying(lambda: relay.answer_unanswered(stored_before), "answer-unanswered")


_die_with_master()
started = utcnow()
app = create_app()
if not app.config["REDIS_URL"]:
    _keep_trying(presence.reset, "presence-reset")  # one process: no agent's socket survived its restart
    _keep_trying(customer_presence.reset, "customer-presence-reset")  # nor any widget's
else:
    # python-socketio subscribes to the message queue on its first client; subscribe now, so events
    # published by other processes before anyone connects here are not missed.
    server = app.extensions["socketio"].server
    if not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()
jobs = scheduler.start()
# With several processes, the others are still relaying what they stored just now: leave them the time a
# relay takes (RASA_TIMEOUT, and 5 s for a queue), so no question is answered twice.
unanswered_before = started if not app.config["REDIS_URL"] else \
    started - timedelta(seconds=app.config["RASA_TIMEOUT"] + 5)
threading.Thread(target=_answer_unanswered, args=(app.extensions["relay"], unanswered_before),
                 daemon=True, name="answer-unanswered").start()
# Everything imported so far lives as long as the process, and so do open sockets: out of the garbage
# collector's sight (a full collection walked ~120,000 objects at start, 870,000 with 5,000 widgets open,
# and stopped every live chat for 80-770 ms each time; see handoff.ops.collector).
gc.collect()
collector.start()
app.extensions["knowledge"].warm()  # embed the FAQs now, not when the first customer asks
