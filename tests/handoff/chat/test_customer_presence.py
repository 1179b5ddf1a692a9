"""The agent is told when the customer left the chat (every widget tab closed for CUSTOMER_GONE_AFTER) and
when they came back, and may close the chat; a reload or a second tab is not leaving."""
from __future__ import annotations

import json
import secrets
import time
from types import SimpleNamespace

import pytest
import requests

from handoff.ops.launcher import wait_healthy
from handoff.ops.stack import RunningStack, Stack
from tests.e2e.clients import AgentConsole, Customer
from tests.fakes import FakeRasa, free_port, wait_for

GONE_AFTER = 0.4
pytestmark = pytest.mark.settings(CUSTOMER_GONE_AFTER=GONE_AFTER, ROUTING_MODE="broadcast")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The service as gunicorn runs it (gevent, its timers as greenlets), for real Socket.IO clients."""
    rasa = FakeRasa()
    var = tmp_path_factory.mktemp("served")
    token = secrets.token_urlsafe(32)
    stack = Stack(handoff_port=free_port(), var_dir=var, extra_env={
        "DATABASE_URL": f"sqlite:///{var / 'presence.db'}", "RASA_URL": rasa.url, "ACTIONS_URL": rasa.url,
        "SERVICE_TOKEN": token, "SECRET_KEY": secrets.token_urlsafe(32), "RASA_TIMEOUT": "3",
        "ROUTING_MODE": "broadcast", "CUSTOMER_GONE_AFTER": "1"})
    run = RunningStack(stack, names=("web",))
    try:
        run.prepare_database()
        run.start("web")
        if wait_healthy(stack.handoff_url, timeout=60, progress=lambda m: None) is None:
            pytest.fail("the service did not become healthy:\n" + run.log_tail("web"))
        sam = next(p for p in json.loads((var / "demo_logins.json").read_text()) if p["name"] == "Sam Agent")
        yield SimpleNamespace(url=stack.handoff_url, token=token, sam=sam)
    finally:
        run.stop("web")
        rasa.close()


def _chat_with_agent(customer_socket, agent_socket, api, visitor_id="visitor-leaves-0001"):
    console = agent_socket()
    chat = customer_socket(visitor_id)
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "my parcel is late", "client_msg_id": "m1"})
    wait_for(lambda: chat.texts("bot"))
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).get_json()["status"] == "queued"
    accepted = console.emit("accept", {"conversation_id": cid})
    assert accepted["ok"] and accepted["conversation"]["customer_left_at"] is None
    return chat, console, cid


def _notices(console, cid) -> list:
    return [e["left_at"] for e in console.of("customer_presence") if e["conversation_id"] == cid]


def test_the_agent_hears_the_customer_left_a_minute_after_the_last_tab_closed_and_may_close_the_chat(
        customer_socket, agent_socket, api):
    chat, console, cid = _chat_with_agent(customer_socket, agent_socket, api)
    chat.sock.disconnect("/chat")
    closed_at = time.monotonic()
    left = wait_for(lambda: _notices(console, cid), timeout=GONE_AFTER * 10)
    assert time.monotonic() - closed_at >= GONE_AFTER * 0.9, "told before the customer had been gone long enough"
    assert len(left) == 1 and left[0].endswith("Z")
    # A console opened later (a reload) shows it too.
    reopened = console.emit("open", {"conversation_id": cid})["conversation"]
    assert reopened["customer_left_at"] == left[0]
    # Closing the chat is the ordinary resolve.
    assert console.emit("resolve", {"conversation_id": cid})["ok"]
    assert console.emit("open", {"conversation_id": cid})["conversation"]["status"] == "resolved"


def test_a_customer_who_comes_back_is_announced_back(customer_socket, agent_socket, api):
    chat, console, cid = _chat_with_agent(customer_socket, agent_socket, api, "visitor-comes-back-1")
    chat.sock.disconnect("/chat")
    assert wait_for(lambda: _notices(console, cid), timeout=GONE_AFTER * 10)
    again = customer_socket("visitor-comes-back-1")
    assert again.of("history")[0]["conversation_id"] == cid
    assert wait_for(lambda: _notices(console, cid)[1:]) == [None]
    assert console.emit("open", {"conversation_id": cid})["conversation"]["customer_left_at"] is None
    assert console.emit("agent_message", {"conversation_id": cid, "text": "Welcome back!", "client_msg_id": "a1"})["ok"]
    assert wait_for(lambda: "Welcome back!" in again.texts("agent"))


def test_a_reload_or_one_of_two_tabs_closing_is_not_leaving(customer_socket, agent_socket, api):
    chat, console, cid = _chat_with_agent(customer_socket, agent_socket, api, "visitor-two-tabs-01")
    second = customer_socket("visitor-two-tabs-01")
    chat.sock.disconnect("/chat")  # one tab of two
    third = customer_socket("visitor-two-tabs-01")
    second.sock.disconnect("/chat")  # a reload: closed, then open again at once
    time.sleep(GONE_AFTER * 3)
    assert _notices(console, cid) == []
    assert console.emit("open", {"conversation_id": cid})["conversation"]["customer_left_at"] is None
    # The last tab closing is leaving.
    third.sock.disconnect("/chat")
    assert wait_for(lambda: _notices(console, cid), timeout=GONE_AFTER * 10)


def test_a_customer_who_left_while_waiting_is_shown_gone_to_the_agent_who_takes_the_chat(
        customer_socket, agent_socket, api):
    console = agent_socket()
    chat = customer_socket("visitor-left-queued1")
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "hello?", "client_msg_id": "m1"})
    wait_for(lambda: chat.texts("bot"))
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).get_json()["status"] == "queued"
    chat.sock.disconnect("/chat")
    time.sleep(GONE_AFTER * 2)
    accepted = console.emit("accept", {"conversation_id": cid})
    assert accepted["ok"] and accepted["conversation"]["customer_left_at"]


def test_over_real_sockets_the_agent_hears_the_customer_leave_and_come_back(served):
    sam = AgentConsole(served.url, served.sam["email"], served.sam["password"]).connect()
    heard = []
    sam.sio.on("customer_presence", heard.append, namespace="/agent")
    ann = Customer(served.url).connect()
    back = None
    try:
        cid = ann.conversation_id
        ann.say("I want to talk to a person")
        resp = requests.post(f"{served.url}/api/conversations/{cid}/handoff", json={"reason": "customer_request"},
                             headers={"Authorization": f"Bearer {served.token}"}, timeout=10)
        assert resp.json()["status"] == "queued", resp.text
        assert sam.call("accept", {"conversation_id": cid})["ok"]
        ann.close()  # the tab closes
        closed_at = time.monotonic()
        assert wait_for(lambda: heard, timeout=10), "the agent was never told the customer left"
        assert time.monotonic() - closed_at >= 0.9
        assert heard[0]["conversation_id"] == cid and heard[0]["left_at"]
        back = Customer(served.url, ann.visitor_id).connect()
        assert back.conversation_id == cid
        assert wait_for(lambda: len(heard) == 2, timeout=10)
        assert heard[1] == {"conversation_id": cid, "left_at": None}
        assert sam.call("resolve", {"conversation_id": cid})["ok"]
        assert wait_for(lambda: back.statuses and back.statuses[-1]["status"] == "resolved")
    finally:
        for client in (ann, back, sam):
            if client is not None:
                client.close()
