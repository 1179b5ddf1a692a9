"""The agent is told when the customer left the chat (every widget tab closed for CUSTOMER_GONE_AFTER) and
when they came back, and may close the chat; a reload or a second tab is not leaving."""
from __future__ import annotations

import time

import pytest

from tests.fakes import wait_for

GONE_AFTER = 0.4
pytestmark = pytest.mark.settings(CUSTOMER_GONE_AFTER=GONE_AFTER, ROUTING_MODE="broadcast")


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
