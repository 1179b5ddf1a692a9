"""Only real questions feed the learning loop."""
import pytest

from handoff.knowledge.question_filter import worth_learning


@pytest.mark.parametrize("text", [
    "Do you sell gift cards?",
    "can I pay with bitcoin",
    "is there a shop in Oslo",
    "How many days until my parcel gets to me?",
    "do u ship 2 canada",
])
def test_questions_are_worth_learning(text):
    assert worth_learning(text)


@pytest.mark.parametrize("text", [
    "talk to a person", "can I talk to a human please", "please get me a person",  # handoff requests
    "hi", "Hello!", "thanks", "ok thank you", "bye",  # greetings and thanks
    "/human_handoff", '/choose_faq{"faq_id": "3"}',  # button payloads
    "anna@example.com", "billing", "yes", "no",  # form answers
    "xqz blorp wibble", "asdfgh", "jjjjjj kkkk",  # gibberish
    "", "   ", None,
])
def test_what_is_not_a_question_is_not_learnt_from(text):
    assert not worth_learning(text)
