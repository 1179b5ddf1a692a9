import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.handoff import ActionHandoff, ActionSubmitContact
from actions.replies import TICKET_BUTTON

QUEUED = {"status": "queued", "agents_online": 2}


@pytest.mark.parametrize(
    "tracker_name, reason",
    [
        ("handoff_request", "customer_request"),
        ("handoff_after_unknown_faq", "low_confidence"),
        ("handoff_after_fallback", "repeated_fallback"),
    ],
)
def test_reason_sent_to_the_service(service, load_tracker, dispatcher, tracker_name, reason):
    service.on("POST", "/api/conversations/12/handoff", QUEUED)

    ActionHandoff().run(dispatcher, load_tracker(tracker_name), {})

    assert service.calls[0]["json"] == {"reason": reason}


@pytest.mark.parametrize("outcome", ["unknown", "choose"])
@pytest.mark.parametrize("typed", ["can I talk to a human please", "none of these are right, please get me a person"])
def test_a_person_asked_for_in_words_after_the_bot_was_unsure_is_a_customer_request(
        service, load_tracker, dispatcher, outcome, typed):
    state = load_tracker("handoff_after_unknown_faq").current_state()
    state["latest_message"]["text"] = typed
    state["events"][-1]["text"] = typed
    tracker = Tracker.from_dict({**state, "slots": {**state["slots"], "faq_outcome": outcome}})
    service.on("POST", "/api/conversations/12/handoff", QUEUED)

    ActionHandoff().run(dispatcher, tracker, {})

    assert service.calls[0]["json"] == {"reason": "customer_request"}


def test_none_of_these_after_choices_is_low_confidence(service, load_tracker, dispatcher):
    tracker = load_tracker("handoff_after_unknown_faq", slots={"faq_outcome": "choose"})
    service.on("POST", "/api/conversations/12/handoff", QUEUED)

    ActionHandoff().run(dispatcher, tracker, {})

    assert service.calls[0]["json"] == {"reason": "low_confidence"}


def test_unknown_answer_long_ago_is_not_low_confidence(service, load_tracker, dispatcher):
    # faq_outcome is still "unknown", but the customer talked about other things since.
    tracker = load_tracker("handoff_request", slots={"faq_outcome": "unknown"})
    service.on("POST", "/api/conversations/12/handoff", QUEUED)

    ActionHandoff().run(dispatcher, tracker, {})

    assert service.calls[0]["json"] == {"reason": "customer_request"}


def test_queued(service, load_tracker, dispatcher):
    service.on("POST", "/api/conversations/12/handoff", QUEUED)

    events = ActionHandoff().run(dispatcher, load_tracker("handoff_request"), {})

    assert dispatcher.texts[0].startswith("I'm connecting you with a person")
    assert events == [SlotSet("faq_outcome", None), SlotSet("handoff_needs_email", False)]


def test_outside_business_hours_says_when_a_person_is_back_and_offers_a_ticket(service, load_tracker, dispatcher):
    service.on("POST", "/api/conversations/12/handoff",
               {"status": "closed", "email_known": False,
                "closed": {"back_at": "2026-12-07T08:00:00.000Z",
                           "words": "A person is back Monday 7 December at 09:00 (Europe/Berlin time)"}})

    events = ActionHandoff().run(dispatcher, load_tracker("handoff_request"), {})

    assert dispatcher.texts == ["Our team is away right now. A person is back Monday 7 December at 09:00 "
                                "(Europe/Berlin time). Leave us a ticket and we'll answer by email."]
    assert dispatcher.messages[0]["buttons"] == [TICKET_BUTTON]
    assert SlotSet("handoff_needs_email", False) in events  # no ticket yet: nothing to attach an email to


# handoff_needs_email is what starts email_form (data/rules/handoff.yml).
@pytest.mark.parametrize(
    "email_known, needs_email",
    [(True, False), (False, True)],
    ids=["email-known", "no-email-starts-the-email-form"],
)
def test_no_agent_opens_a_ticket(service, load_tracker, dispatcher, email_known, needs_email):
    service.on("POST", "/api/conversations/12/handoff",
               {"status": "ticket", "ticket": {"number": 42}, "email_known": email_known})

    events = ActionHandoff().run(dispatcher, load_tracker("handoff_request"), {})

    assert dispatcher.texts == [
        "No agent is available right now, so I've opened ticket #42 with this "
        "conversation. We'll get back to you by email."
    ]
    assert SlotSet("handoff_needs_email", needs_email) in events
    assert SlotSet("handoff_ticket_number", "42") in events


@pytest.mark.parametrize(
    "route",
    [None, {"body": {"status": "busy"}}, {"body": {"status": "ticket"}}],
    ids=["down", "unknown-status", "ticket-without-number"],
)
def test_handoff_failure_offers_a_ticket(service, load_tracker, dispatcher, route):
    if route is None:
        service.down()
    else:
        service.on("POST", "/api/conversations/12/handoff", **route)

    events = ActionHandoff().run(dispatcher, load_tracker("handoff_request"), {})

    assert dispatcher.texts[0].startswith("Sorry, I can't reach our support system right now.")
    assert dispatcher.buttons == [[TICKET_BUTTON]]
    assert SlotSet("handoff_needs_email", False) in events


def test_contact_email_is_saved(service, load_tracker, dispatcher):
    service.on("POST", "/api/conversations/12/contact", {"ok": True})

    events = ActionSubmitContact().run(dispatcher, load_tracker("submit_contact"), {})

    assert service.calls[0]["json"] == {"email": "anna@example.com"}
    assert dispatcher.texts == ["Thanks! We'll write to anna@example.com about ticket #42."]
    assert events == [SlotSet("handoff_needs_email", False)]


def test_contact_email_when_service_is_down(service, load_tracker, dispatcher):
    service.down()

    events = ActionSubmitContact().run(dispatcher, load_tracker("submit_contact"), {})

    assert dispatcher.texts[0].startswith("Sorry, I can't reach our support system right now.")
    assert events == [SlotSet("handoff_needs_email", False)]
