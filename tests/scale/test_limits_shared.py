"""The log-in throttle on PostgreSQL, and rates shared by every process through Redis."""
from __future__ import annotations

from handoff.config import Config
from tests.handoff.conftest import service_app

# The same race as on SQLite, run here on this directory's PostgreSQL `app` (read committed needs a lock).
from tests.handoff.people.test_throttle import test_parallel_wrong_passwords_get_only_the_limit_evaluated  # noqa: F401


def test_two_processes_share_one_allowance_through_redis(database_url, redis_server, fake_rasa):
    from handoff import db

    rates = Config().RATES | {"reset": "4 per hour"}
    first, second = (service_app(database_url, fake_rasa, REDIS_URL=redis_server.url, RATES=rates)
                     for _ in range(2))
    try:
        codes = [app.test_client().post("/portal/forgot", data={"email": f"who{i}@example.com"}).status_code
                 for i, app in enumerate([first, second] * 3)]
        assert codes == [200] * 4 + [429, 429]
    finally:
        db.engine().dispose()
