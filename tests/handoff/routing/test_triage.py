"""Triage: a priority and the reasons for it, from the words, the tone and the customer's history."""
from __future__ import annotations

import pytest

from handoff.routing import triage


@pytest.mark.parametrize("text, priority, reason", [
    ("I was charged twice for one order", "high", "mentions being charged twice"),
    ("My account is locked and I cannot get in", "high", "account locked"),
    ("Someone hacked my account and ordered things", "urgent", "mentions fraud or a hacked account"),
    ("I will start a chargeback with my bank", "urgent", "mentions legal action"),
    ("This is the worst service ever, absolutely useless and infuriating", "high", "angry tone"),
    ("Hi! Could you tell me your opening hours? Thanks a lot, lovely shop", "low", "a friendly question"),
    ("Where can I find the manual for the kettle", "normal", None),
])
def test_the_priority_and_its_reason_come_from_the_words_and_the_tone(text, priority, reason):
    found = triage.assess(text)
    assert found.priority == priority
    assert (reason in found.reasons) if reason else found.reasons == []


def test_a_customer_back_again_goes_up_a_step_and_it_says_why():
    found = triage.assess("I was charged twice for one order", returning="second contact today")
    assert found.priority == "urgent" and found.reasons == ["mentions being charged twice", "second contact today"]
    assert triage.assess("hello", returning="follow-up to a closed ticket").priority == "high"


def test_a_handed_off_chat_and_a_bot_ticket_carry_their_triage(customer_socket, agent_socket, api):
    from tests.fakes import wait_for

    sam = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "I was charged twice, fix it immediately!!", "client_msg_id": "a"})
    wait_for(lambda: chat.texts("bot"))
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    offer = wait_for(lambda: sam.of("chat_assigned"))[0]["conversation"]
    assert offer["priority"] == "high"
    assert {"mentions being charged twice", "says it is urgent"} <= set(offer["triage"]["reasons"])
    ticket = api.post(f"/api/conversations/{cid}/tickets",
                      {"description": "Someone used my card without permission, unauthorized payment",
                       "category": "billing"}).get_json()
    # Fraud is urgent, and this customer was already in touch today (the chat above).
    assert ticket["priority"] == "urgent"
