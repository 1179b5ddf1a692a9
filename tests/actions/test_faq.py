from rasa_sdk.events import SlotSet

from actions.faq import ActionAnswerFaq
from actions.replies import PERSON_BUTTON, TICKET_BUTTON

MATCHES = [
    {"faq_id": 7, "question": "How do refunds work?", "answer": "Refunds take 5 days.", "score": 0.61},
    {"faq_id": 9, "question": "Can I cancel my order?", "answer": "Yes, before it ships.", "score": 0.58},
    {"faq_id": 11, "question": "Where is my invoice?", "answer": "In your account.", "score": 0.52},
]


def run(tracker, dispatcher):
    return ActionAnswerFaq().run(dispatcher, tracker, {})


def test_confident_match_is_answered(service, load_tracker, dispatcher):
    service.on("GET", "/api/faq/search", {"decision": "answer", "matches": MATCHES[:1]})

    events = run(load_tracker("faq_question"), dispatcher)

    assert service.calls[0]["params"]["q"] == "How do I get a refund?"
    assert dispatcher.texts == ["Refunds take 5 days."]
    assert events == [SlotSet("faq_id", None), SlotSet("faq_outcome", "answer")]


def test_close_matches_are_offered_as_buttons(service, load_tracker, dispatcher):
    service.on("GET", "/api/faq/search", {"decision": "choose", "matches": MATCHES})

    events = run(load_tracker("faq_question"), dispatcher)

    assert dispatcher.texts == ["Did you mean one of these?"]
    assert dispatcher.buttons == [[
        {"title": "How do refunds work?", "payload": '/choose_faq{"faq_id":"7"}'},
        {"title": "Can I cancel my order?", "payload": '/choose_faq{"faq_id":"9"}'},
        {"title": "Where is my invoice?", "payload": '/choose_faq{"faq_id":"11"}'},
        {"title": "None of these", "payload": "/human_handoff"},
    ]]
    assert SlotSet("faq_outcome", "choose") in events


def test_unknown_question_offers_a_person_or_a_ticket(service, load_tracker, dispatcher):
    service.on("GET", "/api/faq/search", {"decision": "unknown", "matches": []})

    events = run(load_tracker("faq_question"), dispatcher)

    assert "don't know" in dispatcher.texts[0]
    assert dispatcher.buttons == [[PERSON_BUTTON, TICKET_BUTTON]]
    assert SlotSet("faq_outcome", "unknown") in events


def test_button_choice_fetches_that_faq(service, load_tracker, dispatcher):
    service.on("GET", "/api/faq/7", {"faq_id": 7, "question": "Q", "answer": "Refunds take 5 days.",
                                     "category": "billing"})

    events = run(load_tracker("choose_faq"), dispatcher)

    assert [c["path"] for c in service.calls] == ["/api/faq/7"]
    assert dispatcher.texts == ["Refunds take 5 days."]
    assert events == [SlotSet("faq_id", None), SlotSet("faq_outcome", "answer")]


def test_chosen_faq_that_was_deleted(service, load_tracker, dispatcher):
    service.on("GET", "/api/faq/7", {"code": 404}, status=404)

    events = run(load_tracker("choose_faq"), dispatcher)

    assert dispatcher.buttons == [[PERSON_BUTTON, TICKET_BUTTON]]
    assert SlotSet("faq_outcome", "unknown") in events


def test_payload_text_searches_the_words_typed_before(service, load_tracker, dispatcher):
    # After the two-stage fallback's "Yes" button the latest text is "/ask_question".
    tracker = load_tracker("faq_question")
    tracker.events.append({"event": "user", "text": "/ask_question", "parse_data": {}})
    tracker.latest_message = {"text": "/ask_question", "intent": {"name": "ask_question"}}
    service.on("GET", "/api/faq/search", {"decision": "unknown", "matches": []})

    run(tracker, dispatcher)

    assert service.calls[0]["params"]["q"] == "How do I get a refund?"


def test_service_down_is_a_polite_reply(service, load_tracker, dispatcher):
    service.down()

    events = run(load_tracker("faq_question"), dispatcher)

    assert dispatcher.texts[0].startswith("Sorry, I can't reach our support system right now.")
    assert dispatcher.buttons == [[PERSON_BUTTON, TICKET_BUTTON]]
    assert SlotSet("faq_outcome", "error") in events


def test_unexpected_decision_is_treated_as_service_error(service, load_tracker, dispatcher):
    service.on("GET", "/api/faq/search", {"decision": "maybe", "matches": MATCHES})

    events = run(load_tracker("faq_question"), dispatcher)

    assert SlotSet("faq_outcome", "error") in events
