"""A service process that is full, on the worker `make run` starts (gunicorn's gevent worker): the next
customer is turned away at once with the reason the widget shows, and everyone already in goes on."""
from __future__ import annotations

import time

import pytest
import requests
import socketio

from tests.e2e.clients import Customer
from tests.e2e.conftest import FULL_LIMIT


def test_a_full_process_refuses_the_next_customer_as_busy_and_serves_those_it_has(full_service):
    inside = [Customer(full_service, f"full-e2e-visitor-{i}").connect() for i in range(FULL_LIMIT)]
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
        assert health["load"] == {"chat_sockets": FULL_LIMIT, "chat_socket_limit": FULL_LIMIT}
        assert health["database"]["ok"] is True

        inside.pop().close()  # a place frees up: the next customer gets in
        time.sleep(0.5)
        inside.append(Customer(full_service, "full-e2e-visitor-late").connect())
        assert inside[-1].conversation_id > 0
    finally:
        for customer in inside:
            customer.close()
