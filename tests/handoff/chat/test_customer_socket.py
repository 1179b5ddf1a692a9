"""The customer's widget protocol on /chat."""
from __future__ import annotations

import pytest

from tests.fakes import wait_for


def test_connect_without_identity_is_refused(app):
    sio = app.extensions["socketio"]
    for auth in (None, {}, {"visitor_id": "short"}, {"visitor_id": "<script>alert(1)</script>"}, {"visitor_id": 5}):
        sock = sio.test_client(app, namespace="/chat", auth=auth)
        assert not sock.is_connected("/chat")


def test_message_is_stored_then_acknowledged_and_the_bot_answers(customer_socket, fake_rasa):
    chat = customer_socket()
    history = chat.of("history")[0]
    assert history["status"] == "bot" and history["messages"] == []
    ack = chat.emit("customer_message", {"text": "Where is my order?", "client_msg_id": "m1"})
    assert ack["ok"] is True and isinstance(ack["id"], int)
    assert wait_for(lambda: "bot heard: Where is my order?" in chat.texts("bot"))
    assert fake_rasa.messages_from(history["conversation_id"]) == ["Where is my order?"]
    own = [m for m in chat.of("message") if m["sender"] == "customer"]
    assert own[0]["id"] == ack["id"] and own[0]["conversation_id"] == history["conversation_id"]
    assert own[0]["created_at"].endswith("Z") and own[0]["buttons"] == []


def test_resending_a_client_msg_id_stores_nothing_new(customer_socket, fake_rasa):
    chat = customer_socket()
    first = chat.emit("customer_message", {"text": "hello", "client_msg_id": "same-id"})
    second = chat.emit("customer_message", {"text": "hello", "client_msg_id": "same-id"})
    assert first == second
    wait_for(lambda: chat.texts("bot"))
    cid = chat.of("history")[0]["conversation_id"]
    assert fake_rasa.messages_from(cid) == ["hello"]


def test_reconnecting_visitor_gets_the_whole_history(customer_socket):
    chat = customer_socket("returning-visitor-1")
    chat.emit("customer_message", {"text": "first question", "client_msg_id": "a"})
    assert wait_for(lambda: chat.texts("bot"))
    chat.sock.disconnect("/chat")
    again = customer_socket("returning-visitor-1")
    texts = [m["text"] for m in again.of("history")[0]["messages"]]
    assert texts == ["first question", "bot heard: first question"]


@pytest.mark.parametrize("payload, error", [
    ("just a string", "JSON object"),
    ({"client_msg_id": "x"}, "must be text"),
    ({"text": "   ", "client_msg_id": "x"}, "empty"),
    ({"text": "x" * 4001, "client_msg_id": "x"}, "too long"),
    ({"text": "hi", "client_msg_id": "has spaces!"}, "client_msg_id"),
    ({"text": ["a"], "client_msg_id": "x"}, "must be text"),
])
def test_bad_messages_get_a_clear_error_and_change_nothing(customer_socket, fake_rasa, payload, error):
    chat = customer_socket()
    ack = chat.emit("customer_message", payload)
    assert ack["ok"] is False and error in ack["error"]
    assert not chat.of("message") and not fake_rasa.received
    assert chat.sock.is_connected("/chat")


def test_html_is_kept_as_text(customer_socket):
    chat = customer_socket()
    chat.emit("customer_message", {"text": "<b>bold</b><script>x()</script>", "client_msg_id": "h"})
    assert "<b>bold</b><script>x()</script>" in chat.texts("customer")


def test_customers_cannot_use_agent_events(customer_socket):
    chat = customer_socket()
    # Events of the agents' namespace mean nothing on /chat: no handler, no change, still connected.
    chat.sock.emit("accept", {"conversation_id": 1}, namespace="/chat")
    chat.sock.emit("agent_message", {"conversation_id": 1, "text": "x"}, namespace="/chat")
    assert not chat.of("message") and chat.sock.is_connected("/chat")


def test_bot_down_tells_the_customer_and_offers_a_person(customer_socket, fake_rasa):
    fake_rasa.mode = "down"
    chat = customer_socket()
    ack = chat.emit("customer_message", {"text": "my invoice is wrong", "client_msg_id": "d1"})
    assert ack["ok"]
    offer = wait_for(lambda: [m for m in chat.of("message") if m["sender"] == "system"])
    assert "not available" in offer[0]["text"]
    assert [b["payload"] for b in offer[0]["buttons"]] == ["/human_handoff", "/open_ticket"]
    fake_rasa.mode = "echo"  # the bot is back: new messages flow to it again
    chat.emit("customer_message", {"text": "are you back?", "client_msg_id": "d2"})
    assert wait_for(lambda: "bot heard: are you back?" in chat.texts("bot"))
    assert "my invoice is wrong" in chat.texts("customer")


def test_slow_bot_is_cut_off_by_the_timeout(customer_socket, fake_rasa):
    fake_rasa.mode, fake_rasa.delay = "slow", 3
    chat = customer_socket()
    chat.emit("customer_message", {"text": "hello?", "client_msg_id": "s1"})
    assert wait_for(lambda: chat.texts("system"), timeout=2.5)


def test_bot_down_and_no_agent_opens_a_ticket_from_the_buttons(customer_socket, fake_rasa):
    fake_rasa.mode = "down"
    chat = customer_socket()
    chat.emit("customer_message", {"text": "I was charged twice", "client_msg_id": "t1"})
    wait_for(lambda: chat.texts("system"))
    chat.emit("customer_message", {"text": "/open_ticket", "client_msg_id": "t2"})
    assert wait_for(lambda: [t for t in chat.texts("system") if "opened ticket #" in t])
