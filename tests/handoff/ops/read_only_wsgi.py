"""gunicorn's entry on a database that refuses every write, as a read-only file, mount or standby does
(PRAGMA query_only: file modes do not stop root, who runs the tests here)."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _read_only(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA query_only=ON")


from handoff.ops.wsgi import app  # noqa: E402,F401  (after the listener, so every connection has it)
