"""End-to-end: the real Rasa server, action server and handoff service, on free loopback ports, under
supervisord as `make run` runs them (so the fault tests see the restarts an installation would)."""
from __future__ import annotations

import json
import os
import socket
import time

import pytest
import requests

from handoff.ops.launcher import wait_healthy
from handoff.ops.stack import MODEL, WORKER, RunningStack, Stack
from handoff.ops.supervision import SupervisedStack
from tests.e2e.clients import AgentConsole, Customer
from tests.fakes import Mailbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FULL_LIMIT = 3  # chat sockets the `full_service` process holds


@pytest.fixture(scope="module")
def full_service(tmp_path_factory):
    """The web process alone, on the worker `make run` starts, holding at most FULL_LIMIT chat sockets."""
    var = tmp_path_factory.mktemp("full")
    stack = Stack(handoff_port=free_port(), rasa_port=free_port(), actions_port=free_port(), var_dir=var,
                  extra_env={"DATABASE_URL": f"sqlite:///{var / 'full.db'}", "MAX_CHAT_SOCKETS": str(FULL_LIMIT),
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


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail("No trained model at models/current.tar.gz: run `make model` (make test does it).")
    var = tmp_path_factory.mktemp("stack")
    mailbox = Mailbox()  # a real SMTP server on loopback receives the service's mail
    inbound_port = free_port()  # and the service's own SMTP listener takes customers' mail
    config = Stack(handoff_port=free_port(), rasa_port=free_port(), actions_port=free_port(), var_dir=var,
                   # The bot's answers are what these tests follow: on a slow shared host Rasa took over
                   # 4 s for one, and the widget offered a person instead.
                   extra_env={"RASA_TIMEOUT": "10", "DATABASE_URL": f"sqlite:///{var / 'e2e.db'}",
                              "HANDOFF_CONNECTIONS": "1000", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
                              "MAIL_INTERVAL": "1", "INBOUND_SMTP_PORT": str(inbound_port),
                              # These tests follow one agent taking a chat or ticket from the shared queue;
                              # automatic offers are tested in tests/handoff/chat/test_assignment.py and
                              # tests/handoff/routing.
                              "ROUTING_MODE": "broadcast",
                              # A customer who closed the tab is announced after 2 s, not a minute.
                              "CUSTOMER_GONE_AFTER": "2"})
    with SupervisedStack(config) as running:
        running.mailbox = mailbox
        running.inbound_port = inbound_port
        # Rasa starts in about 15 s on two free cores; E2E_START_TIMEOUT allows for busy ones.
        if wait_healthy(config.handoff_url, timeout=float(os.environ.get("E2E_START_TIMEOUT", 240)),
                        progress=lambda m: None) is None:
            pytest.fail("The stack did not become healthy:\n" + "\n".join(
                f"--- {n} ---\n{running.log_tail(n)}" for n in ("supervisord", "web", "rasa", "actions")))
        running.url = config.handoff_url
        running.logins = {p["role"] + ("" if p["role"] == "admin" else p["name"].split()[0]): p
                          for p in json.loads((var / "demo_logins.json").read_text())}
        yield running
    mailbox.stop()


@pytest.fixture
def customer(stack):
    made = []

    def make(visitor_id=None):
        made.append(Customer(stack.url, visitor_id).connect())
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def agent(stack):
    made = []

    def make(who="agentSam"):
        person = stack.logins[who]
        made.append(AgentConsole(stack.url, person["email"], person["password"]).connect())
        return made[-1]

    yield make
    for a in made:
        a.close()
