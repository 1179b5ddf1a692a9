"""/healthz proves the database can take a write, not only that it answers."""
from __future__ import annotations

from sqlalchemy import event

from handoff import db


def read_only(connection, _record):
    connection.execute("PRAGMA query_only=ON")  # SQLite refuses every write, as on a read-only file or mount


def test_healthz_reports_a_read_only_database_as_down(client):
    assert client.get("/healthz").get_json()["database"] == {"ok": True}
    event.listen(db.engine(), "connect", read_only)
    db.engine().dispose()  # the pool's next connections are read-only
    try:
        down = client.get("/healthz")
        assert down.status_code == 503
        assert down.get_json()["database"] == {"ok": False, "error": "OperationalError"}
        assert down.get_json()["status"] == "degraded"
    finally:
        event.remove(db.engine(), "connect", read_only)
        db.engine().dispose()
    assert client.get("/healthz").status_code == 200

