"""Opening tickets from a chat: asking twice gets the one ticket, and a subject stays on one line."""
from __future__ import annotations

import re
from datetime import timedelta

from handoff.chat import conversations
from handoff.db import session_scope
from handoff.models import Customer, OutboxMail, Ticket
from handoff.tickets import lifecycle
from tests.fakes import at_once, wait_for


def _tickets() -> list[tuple[int, str]]:
    with session_scope() as s:
        return [(t.id, t.source) for t in s.query(Ticket).order_by(Ticket.id)]


def test_pressing_open_a_ticket_twice_with_the_bot_down_opens_one(customer_socket, fake_rasa):
    fake_rasa.mode = "down"
    chat = customer_socket()
    chat.emit("customer_message", {"text": "I was charged twice", "client_msg_id": "t1"})
    wait_for(lambda: chat.texts("system"))
    chat.emit("customer_message", {"text": "/open_ticket", "client_msg_id": "t2"})
    wait_for(lambda: [t for t in chat.texts("system") if "opened ticket #" in t])
    chat.emit("customer_message", {"text": "/open_ticket", "client_msg_id": "t3"})
    opened = wait_for(lambda: [t for t in chat.texts("system") if "opened ticket #" in t][1:] and
                      [t for t in chat.texts("system") if "opened ticket #" in t])
    assert len(_tickets()) == 1
    assert {re.search(r"#(\d+)", t).group(1) for t in opened} == {str(_tickets()[0][0])}


def test_the_bots_ticket_form_sent_twice_opens_one_ticket(app, api):
    cid = conversations.open_for_visitor("visitor-twice-1")
    body = {"description": "My order never came", "category": "orders", "email": "dee@example.com"}
    first, again = at_once([lambda: api.post(f"/api/conversations/{cid}/tickets", body)] * 2)
    assert first.get_json()["number"] == again.get_json()["number"]
    assert len(_tickets()) == 1
    with session_scope() as s:
        assert s.query(OutboxMail).filter_by(kind="ticket_created").count() == 1
    other = api.post(f"/api/conversations/{cid}/tickets", {**body, "description": "And a second problem"})
    assert other.get_json()["number"] != first.get_json()["number"] and len(_tickets()) == 2


def test_the_same_request_later_opens_a_new_ticket(app, monkeypatch):
    cid = conversations.open_for_visitor("visitor-twice-2")
    first = lifecycle.create_from_bot(cid, "Broken screen", "technical")
    monkeypatch.setattr(lifecycle, "REPEAT_WINDOW", timedelta(0))
    assert lifecycle.create_from_bot(cid, "Broken screen", "technical")["number"] != first["number"]


def test_a_subject_is_kept_on_one_line(app):
    with session_scope() as s:
        cu = Customer(email="ed@example.com", name="Ed")
        s.add(cu)
        s.flush()
        cu_id = cu.id
    t = lifecycle.open_ticket(cu_id, "Help\r\nBcc: all@example.com", "d", "billing", source="portal",
                              actor="customer")
    assert t["subject"] == "Help Bcc: all@example.com"
