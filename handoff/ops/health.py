"""GET /healthz: the state of the database, the Rasa server and the action server."""
from __future__ import annotations

import requests
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from handoff.db import engine

bp = Blueprint("health", __name__)


def _probe(url: str, timeout: float) -> dict:
    try:
        resp = requests.get(url, timeout=timeout)
        return {"ok": resp.status_code == 200, "status": resp.status_code}
    except requests.RequestException as err:
        return {"ok": False, "error": type(err).__name__}


@bp.get("/healthz")
def healthz():
    cfg = current_app.config
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database = {"ok": True}
    except Exception as err:  # any driver error means the database is not usable
        database = {"ok": False, "error": type(err).__name__}
    checks = {
        "database": database,
        # Rasa runs without its HTTP API (no /version); its root page answers while it serves.
        "rasa": _probe(f"{cfg['RASA_URL']}/", cfg["HEALTH_TIMEOUT"]),
        "actions": _probe(f"{cfg['ACTIONS_URL']}/health", cfg["HEALTH_TIMEOUT"]),
    }
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", **checks}), (200 if healthy else 503)
