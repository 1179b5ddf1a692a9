"""A category from the customer's words with no training data: the organisation's FAQs, then category words."""
from __future__ import annotations

import pytest

from handoff.routing import category_cues

SEED = {"billing": "Billing", "account": "Account", "orders": "Orders", "technical": "Technical"}
FAQS = category_cues.FaqNeighbours([
    ("How long does a refund take?", "billing", "How long does a refund take?"),
    ("when will i get my money back for a return", "billing", "How long does a refund take?"),
    ("Where is my parcel?", "orders", "Where is my parcel?"),
    ("my package has not arrived yet", "orders", "Where is my parcel?"),
])


def test_a_question_like_an_faq_gets_that_faqs_category_and_says_which():
    found = category_cues.guess("When do I get my money back for the speaker I returned?", SEED, FAQS)
    assert found == category_cues.Guess("billing", "like the FAQ “How long does a refund take?”")


@pytest.mark.parametrize("text, category, word", [
    ("The invoice you sent has the wrong address", "billing", "invoice"),
    ("I am locked out, the password reset never comes", "account", "locked"),
    ("The app crashes when I open the camera", "technical", "app"),
])
def test_with_no_faq_like_it_the_words_that_name_a_category_decide(text, category, word):
    found = category_cues.guess(text, SEED, FAQS)
    assert found.category == category and found.reason == f"mentions “{word}”"


def test_an_admins_own_category_is_known_by_its_name():
    found = category_cues.guess("I want to make a warranty claim for my watch", {**SEED, "warranty": "Warranty claims"})
    assert found == category_cues.Guess("warranty", "mentions “warranty”")


def test_words_that_point_nowhere_give_no_category():
    assert category_cues.guess("hello, are you there?", SEED, FAQS) == category_cues.Guess(None, None)


def test_an_faq_of_a_category_the_admin_removed_is_not_followed():
    found = category_cues.guess("when will i get my money back", {"orders": "Orders"}, FAQS)
    assert found.category != "billing"
