"""The one input cleaner: text a person could not see, or that displays in another order than it is
stored, is refused or cleaned with a clear sentence, on the chat socket and over HTTP alike."""
from __future__ import annotations

import json

import pytest

from handoff.errors import ServiceError, clean_text

INVISIBLE = ["\u200b", "\u200b\u200c\u200d", "\ufeff\u2060", " \u200b \n\t", "\u3164", "\u2800\u2800", "\u0301",
             "\u202e\u2066"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_text_with_nothing_visible_is_refused(text):
    with pytest.raises(ServiceError, match="no visible characters|empty"):
        clean_text(text)


@pytest.mark.parametrize("text, kept", [
    ("pay \u202eexe.txt", "pay exe.txt"),
    ("\u2067abc\u2069 done", "abc done"),
    ("שלום, I need help", "שלום, I need help"),  # right-to-left writing needs no override
    ("👩\u200d💻 is here", "👩\u200d💻 is here"),  # joiners inside an emoji stay
    ("Café ☕", "Café ☕"),
])
def test_bidi_overrides_are_removed_and_real_writing_is_kept(text, kept):
    assert clean_text(text) == kept


def test_a_lone_surrogate_gets_a_clear_error():
    with pytest.raises(ServiceError, match="broken character"):
        clean_text("hi \ud83d there")


def test_one_line_folds_line_breaks_for_subjects():
    assert clean_text("Hi\r\nBcc: x@example.com\u2028more", 200, "subject", one_line=True) == \
        "Hi Bcc: x@example.com more"


@pytest.mark.parametrize("text, error", [
    ("\u200b\u200b", "no visible characters"),
    ("broken \ud83d emoji", "broken character"),
])
def test_the_chat_socket_refuses_it_and_stores_nothing(customer_socket, fake_rasa, text, error):
    chat = customer_socket()
    ack = chat.emit("customer_message", {"text": text, "client_msg_id": "z1"})
    assert ack["ok"] is False and error in ack["error"]
    assert not chat.of("message") and not fake_rasa.received


@pytest.mark.parametrize("text, error", [
    ("\u200b\u200b", "no visible characters"),
    ("broken \ud83d emoji", "broken character"),
])
def test_the_http_api_refuses_it_and_stores_nothing(app, api, text, error):
    from handoff.chat import conversations
    from handoff.db import session_scope
    from handoff.models import Ticket

    cid = conversations.open_for_visitor("visitor-errors-1")
    resp = api.post(f"/api/conversations/{cid}/tickets", data=json.dumps(
        {"description": text, "category": "billing"}), content_type="application/json")
    assert resp.status_code == 400 and error in resp.get_json()["message"]
    with session_scope() as s:
        assert s.query(Ticket).count() == 0
