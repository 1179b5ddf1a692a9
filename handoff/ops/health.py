"""GET /healthz: the state of the database, the Rasa server and the action server."""
from __future__ import annotations

import logging

import requests
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from handoff.db import connection_scope
from handoff.realtime import cooperative

bp = Blueprint("health", __name__)
log = logging.getLogger("careregistry.health")
_last_database_error: str | None = None

# A write that changes nothing, rolled back: a database that answers SELECT 1 can still refuse every
# write (read-only file or mount, a PostgreSQL standby after a fail-over), and then nothing a customer
# types can be stored. Every DML statement needs a write transaction, on SQLite even when no row matches.
_WRITE_PROBE = text("UPDATE knowledge_version SET version = version WHERE id = -1")


class _Rollback(Exception):
    pass


def database_writable() -> dict:
    global _last_database_error
    try:
        with connection_scope() as conn:
            conn.execute(_WRITE_PROBE)
            raise _Rollback  # leaves the block through the rollback path
    except _Rollback:
        if _last_database_error is not None:
            log.info("database writable again")
        _last_database_error = None
        return {"ok": True}
    except Exception as err:  # any driver error means the database cannot take a customer's message
        # The driver's message can name hosts: it goes to the log (once per change), not to the public page.
        detail = str(getattr(err, "orig", None) or err).splitlines()[0][:200] if str(err) else ""
        if detail != _last_database_error:
            log.warning("database not writable error=%s detail=%r", type(err).__name__, detail)
        _last_database_error = detail
        return {"ok": False, "error": type(err).__name__}


def _probe(url: str, timeout: float) -> dict:
    try:
        resp = requests.get(url, timeout=timeout)
        return {"ok": resp.status_code == 200, "status": resp.status_code}
    except requests.RequestException as err:
        return {"ok": False, "error": type(err).__name__}


def _probe_servers(urls: list[str], timeout: float) -> list:
    """Start probing each URL; returns one callable per URL giving its result. Under the cooperative
    worker the probes run as greenlets meanwhile; otherwise each is made when its result is asked for."""
    if not cooperative():
        return [lambda url=url: _probe(url, timeout) for url in urls]
    import gevent

    jobs = [gevent.spawn(_probe, url, timeout) for url in urls]
    return [lambda job=job: job.get() for job in jobs]


@bp.get("/healthz")
def healthz():
    cfg = current_app.config
    # The two servers are asked at once, while the database is probed: one after another, each waited
    # for its turn on a busy loop (a burst of widgets connecting) and /healthz took three turns.
    # Rasa runs without its HTTP API (no /version); its root page answers while it serves.
    rasa, actions = _probe_servers([f"{cfg['RASA_URL']}/", f"{cfg['ACTIONS_URL']}/health"], cfg["HEALTH_TIMEOUT"])
    checks = {"database": database_writable(), "rasa": rasa(), "actions": actions()}
    healthy = all(c["ok"] for c in checks.values())
    # This process's load: a full one refuses new chats ("busy") but is healthy.
    load = {"chat_sockets": current_app.extensions["chat"].open_sockets, "chat_socket_limit": cfg["MAX_CHAT_SOCKETS"]}
    return jsonify({"status": "ok" if healthy else "degraded", **checks, "load": load}), (200 if healthy else 503)
