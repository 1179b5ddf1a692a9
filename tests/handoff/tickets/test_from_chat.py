"""Reading what a chat's customer needs: the ticket's subject, description and category."""
from __future__ import annotations

import pytest

from handoff.tickets import from_chat


def said(*lines, sender="customer"):
    return [{"sender": sender, "text": line} for line in lines]


CHAT = (said("Hi there!") + said("Hello! How can I help?", sender="bot")
        + said("/request_human") + said("I want to talk to a real person")
        + said("My parcel never arrived and the tracking page is blank") + said("ann@example.com")
        + said("thanks"))


def test_the_subject_is_the_customers_problem_not_their_greeting():
    draft = from_chat.draft(CHAT)
    assert draft["subject"] == "My parcel never arrived and the tracking page is blank"
    assert draft["need"] == "My parcel never arrived and the tracking page is blank"


def test_the_description_holds_only_what_the_customer_wrote_without_payloads_or_address():
    description = from_chat.description(CHAT)
    assert "/request_human" not in description and "ann@example.com" not in description
    assert "How can I help" not in description
    assert "My parcel never arrived" in description


@pytest.mark.parametrize("line, category", [
    ("I was charged twice on my card, I want a refund", "billing"),
    ("My order never arrived, where is my parcel?", "orders"),
    ("I forgot my password and cannot log in to my account", "account"),
    ("The app crashes with an error when I open it", "technical"),
    ("Something is wrong", None),
])
def test_the_category_is_predicted_from_the_customers_words(line, category):
    assert from_chat.predict_category(said("Hello", line)) == category


def test_the_bots_topic_wins_over_word_counting():
    assert from_chat.predict_category(said("My order never arrived"), topic="billing") == "billing"


def test_a_long_need_is_cut_at_the_subject_length():
    subject = from_chat.subject(said("word " * 60))
    assert len(subject) <= from_chat.MAX_SUBJECT and subject.endswith("…")


def test_a_chat_with_only_small_talk_gets_a_neutral_subject():
    assert from_chat.subject(said("Hi", "agent please")) == "Support request from a chat"
