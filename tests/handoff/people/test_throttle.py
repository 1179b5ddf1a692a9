"""The log-in throttle under concurrency, and the per-address rate behind proxies."""
from __future__ import annotations

import threading
import time

import pytest

from handoff.errors import ServiceError
from handoff.people import throttle
from tests.fakes import at_once
from tests.handoff.conftest import PASSWORD, service_app


def test_parallel_wrong_passwords_get_only_the_limit_evaluated(app):
    """60 guesses at once: exactly PER_ACCOUNT reach the password check, the rest are refused unseen."""
    checked, lock = [], threading.Lock()

    def verify(account):
        with lock:
            checked.append(account)
        time.sleep(0.05)  # a password hash takes a while: the window in which the old count raced
        return None

    def guess():
        try:
            throttle.guarded("ann@example.com", "203.0.113.7", verify)
        except ServiceError as err:
            return err.status

    statuses = at_once([guess] * 60)
    assert len(checked) == throttle.PER_ACCOUNT
    assert sorted(statuses) == [401] * throttle.PER_ACCOUNT + [429] * (60 - throttle.PER_ACCOUNT)


def test_a_correct_password_clears_the_account_failures(app):
    for _ in range(throttle.PER_ACCOUNT - 1):
        with pytest.raises(ServiceError):
            throttle.guarded("ann@example.com", "203.0.113.7", lambda account: None)
    assert throttle.guarded("ann@example.com", "203.0.113.7", lambda account: {"id": 1}) == {"id": 1}
    for _ in range(throttle.PER_ACCOUNT):  # a fresh allowance, not one left
        with pytest.raises(ServiceError) as refused:
            throttle.guarded("ann@example.com", "203.0.113.7", lambda account: None)
        assert refused.value.status == 401


def _app(tmp_path, fake_rasa, **settings):
    from handoff.config import Config

    return service_app(f"sqlite:///{tmp_path / 'throttle.db'}", fake_rasa,
                       RATES=Config().RATES | {"login": "10 per 2 seconds"}, **settings)


def test_guessing_from_one_address_slows_it_down_but_locks_no_one_out(tmp_path, fake_rasa):
    """20 wrong guesses at other accounts from an office's address: its staff wait seconds, not 15 minutes."""
    app = _app(tmp_path, fake_rasa)
    with app.app_context():
        from handoff.people import agents

        agent = agents.create("Sam Agent", "sam@example.com", PASSWORD, "agent", ["billing"])
    http = app.test_client()
    for i in range(20):
        http.post("/login", data={"email": f"guess{i}@example.com", "password": "nope"})
    refused = http.post("/login", data={"email": agent["email"], "password": PASSWORD})
    assert refused.status_code == 429 and "Please wait" in refused.get_data(as_text=True)
    time.sleep(2.1)
    assert http.post("/login", data={"email": agent["email"], "password": PASSWORD}).status_code == 302


def test_correct_log_ins_do_not_use_up_the_address_rate(tmp_path, fake_rasa):
    app = _app(tmp_path, fake_rasa)
    with app.app_context():
        from handoff.people import agents

        agents.create("Sam Agent", "sam@example.com", PASSWORD, "agent", ["billing"])
    for _ in range(15):  # a team starting its shift behind one NAT
        assert app.test_client().post("/login", data={"email": "sam@example.com",
                                                      "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize("hops, other_address_refused", [(0, True), (1, False)])
def test_forwarded_for_counts_only_behind_trusted_proxies(tmp_path, fake_rasa, hops, other_address_refused):
    """With TRUSTED_PROXIES=1 each client behind the proxy has its own allowance; with 0 the header is ignored."""
    from handoff.config import Config

    app = service_app(f"sqlite:///{tmp_path / 'proxy.db'}", fake_rasa, TRUSTED_PROXIES=hops,
                      RATES=Config().RATES | {"login": "3 per minute"})
    http = app.test_client()
    for i in range(3):
        http.post("/login", data={"email": f"guess{i}@example.com", "password": "nope"},
                  headers={"X-Forwarded-For": "198.51.100.1"})
    other = http.post("/login", data={"email": "someone@example.com", "password": "nope"},
                      headers={"X-Forwarded-For": "198.51.100.2"})
    assert (other.status_code == 429) is other_address_refused
