"""A request for a person is heard wherever it sits in a message; ordinary questions are not requests."""
import pytest

from handoff.knowledge.handoff_request import asks_for_person


@pytest.mark.parametrize("text", [
    "talk to a person",
    "Can I talk to a human please",
    "please get me a person",
    "I've been waiting two weeks for my parcel and nobody answers, can I talk to a human please?",
    "none of these. Please get me a person",
    "My refund never arrived. I want to speak with someone from support",
    "connect me to an agent",
    "put me through to a real person, this is useless",
    "human please",
    "I need a human",
    "I\u2019d like a real person",
    "could you transfer me to customer service",
])
def test_a_request_for_a_person_is_heard_anywhere_in_the_message(text):
    assert asks_for_person(text)


@pytest.mark.parametrize("text", [
    "How many days until my parcel gets to me?",
    "the delivery person left my parcel at the wrong door",
    "I don't need to talk to a person, just tell me the opening hours",
    "do you sell pizza",
    "/human_handoff",  # a button: the bot handles its own buttons
    "",
    None,
    "can I return something a person gave me as a gift",
    "word " * 200 + "talk to a person",  # a long description quoting the words, e.g. a ticket
])
def test_other_messages_are_not_requests(text):
    assert not asks_for_person(text)
