"""GET /healthz: the state of the database, the Rasa server and the action server."""
from __future__ import annotations

import logging
import time

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


def _probe_servers(urls: list[str], timeout: float, fresh_for: float, probed: dict) -> list:
    """Start probing each URL; returns one callable per URL giving its result. Under the cooperative
    worker the probes run as greenlets meanwhile; otherwise each is made when its result is asked for.

    A result younger than `fresh_for` seconds is given again instead: /healthz is public, and each
    call that probed would make this process ask two other servers (and, with them down, wait for the
    timeout), which a monitor polling every second or a burst of callers turns into load. Probing
    takes several turns of the loop; on a loop busy with a burst of widgets connecting, each of them
    waited behind the burst. The database is asked every time. probed: url -> (time.monotonic() of
    its last probe, the result), this app's."""
    now, results = time.monotonic(), []
    for url in urls:
        seen = probed.get(url)
        if seen is not None and now - seen[0] < fresh_for:
            results.append(lambda result=seen[1]: result)
        else:
            results.append(_remembered(probed, url, _started(url, timeout)))
    return results


def _started(url: str, timeout: float):
    if not cooperative():
        return lambda: _probe(url, timeout)
    import gevent

    return gevent.spawn(_probe, url, timeout).get


def _remembered(probed: dict, url: str, outcome):
    def result() -> dict:
        probed[url] = (time.monotonic(), outcome())
        return probed[url][1]

    return result


@bp.get("/healthz")
def healthz():
    cfg = current_app.config
    # The two servers are asked at once, while the database is probed: one after another, each waited
    # for its turn on a busy loop (a burst of widgets connecting) and /healthz took three turns.
    # Rasa runs without its HTTP API (no /version); its root page answers while it serves.
    rasa, actions = _probe_servers([f"{cfg['RASA_URL']}/", f"{cfg['ACTIONS_URL']}/health"], cfg["HEALTH_TIMEOUT"],
                                     cfg["HEALTH_PROBE_FRESH"], current_app.extensions.setdefault("health_probes", {}))
    checks = {"database": database_writable(), "rasa": rasa(), "actions": actions()}
    healthy = all(c["ok"] for c in checks.values())
    # This process's load: a full one refuses new chats ("busy") but is healthy.
    load = {"chat_sockets": current_app.extensions["chat"].open_sockets, "chat_socket_limit": cfg["MAX_CHAT_SOCKETS"]}
    return jsonify({"status": "ok" if healthy else "degraded", **checks, "load": load}), (200 if healthy else 503)
