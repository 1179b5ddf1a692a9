"""A service process that is full, on the worker `make run` starts (gunicorn's gevent worker): the next
customer is turned away at once with the reason the widget shows, and everyone already in goes on."""
from __future__ import annotations

import time

import pytest
import requests
import socketio

from handoff.ops.stack import WORKER, RunningStack, Stack
from tests.e2e.clients import Customer
from tests.e2e.conftest import free_port

LIMIT = 3


@pytest.fixture(scope="module")
def full_service(tmp_path_factory):
    var = tmp_path_factory.mktemp("full")
    stack = Stack(handoff_port=free_port(), rasa_port=free_port(), actions_port=free_port(), var_dir=var,
                  extra_env={"DATABASE_URL": f"sqlite:///{var / 'full.db'}", "MAX_CHAT_SOCKETS": str(LIMIT),
                             "RASA_TIMEOUT": "2"})
    assert WORKER in stack.commands()["web"], "the test is about the worker `make run` starts"
    running = RunningStack(stack, names=("web",))
    running.prepare_database()
    running.start("web")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{stack.handoff_url}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            pytest.fail(f"the service did not start:\n{running.log_tail('web')}")
        yield stack.handoff_url
    finally:
        running.stop("web")


def test_a_full_process_refuses_the_next_customer_as_busy_and_serves_those_it_has(full_service):
    inside = [Customer(full_service, f"full-e2e-visitor-{i}").connect() for i in range(LIMIT)]
    try:
        errors = []
        refused = socketio.Client(reconnection=False)
        refused.on("connect_error", lambda data=None: errors.append(data), namespace="/chat")
        started = time.monotonic()
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(full_service, namespaces=["/chat"], transports=["websocket"],
                            auth={"visitor_id": "full-e2e-visitor-late"}, wait_timeout=10)
        waited = time.monotonic() - started
        assert errors and errors[0]["data"] == {"reason": "busy"}, errors
        assert "leave us a message" in errors[0]["message"].lower()
        assert waited < 5, f"the refusal took {waited:.1f} s"

        for i, customer in enumerate(inside):  # everyone inside is still served, and stored
            assert customer.say(f"still here {i}")["ok"] is True
        health = requests.get(f"{full_service}/healthz", timeout=10).json()
        assert health["load"] == {"chat_sockets": LIMIT, "chat_socket_limit": LIMIT}
        assert health["database"]["ok"] is True

        inside.pop().close()  # a place frees up: the next customer gets in
        time.sleep(0.5)
        inside.append(Customer(full_service, "full-e2e-visitor-late").connect())
        assert inside[-1].conversation_id > 0
    finally:
        for customer in inside:
            customer.close()
