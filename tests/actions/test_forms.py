import asyncio

import pytest
from rasa_sdk.events import SlotSet

from actions.forms import (
    CATEGORY_BUTTONS,
    ActionCancelForm,
    ValidateEmailForm,
    ValidateTicketForm,
    ValidateTicketStatusForm,
)


BUILT_IN = [{"slug": c, "name": c.capitalize()} for c in ("billing", "account", "orders", "technical")]


def ticket_form_turn(load_tracker, requested_slot, value, **slots):
    """A tracker as validate_ticket_form sees it right after the customer answered."""
    state_slots = {"description": None, "category": None, "email": None,
                   "customer_has_email": None, "requested_slot": requested_slot}
    state_slots.update(slots)
    state_slots[requested_slot] = value
    tracker = load_tracker(
        "ticket_form_done",
        slots=state_slots,
        active_loop={"name": "ticket_form"},
        latest_action_name="action_listen",
    )
    tracker.events.append({"event": "slot", "name": requested_slot, "value": value})
    return tracker


def run(action, dispatcher, tracker, domain):
    return asyncio.run(action.run(dispatcher, tracker, domain))


def required_slots(tracker, dispatcher, domain):
    action = ValidateTicketForm()
    return asyncio.run(
        action.required_slots(action.domain_slots(domain), dispatcher, tracker, domain)
    )


def test_known_customer_is_not_asked_for_email(service, load_tracker, dispatcher, domain):
    service.on("GET", "/api/conversations/12/customer",
               {"email": "anna@example.com", "name": "Anna", "registered": True})
    tracker = ticket_form_turn(load_tracker, "category", "billing", description="It broke down")

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert events == [
        SlotSet("customer_has_email", True),
        SlotSet("category", "billing"),
        SlotSet("requested_slot", None),
    ]


def test_anonymous_customer_is_asked_for_email(service, load_tracker, dispatcher, domain):
    service.on("GET", "/api/conversations/12/customer",
               {"email": None, "name": None, "registered": False})
    tracker = ticket_form_turn(load_tracker, "category", "billing", description="It broke down")

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert SlotSet("customer_has_email", False) in events
    assert required_slots(tracker, dispatcher, domain) == ["description", "category", "email"]


def test_customer_lookup_is_done_once(service, load_tracker, dispatcher, domain):
    tracker = ticket_form_turn(load_tracker, "description", "The app crashes on start",
                               customer_has_email=False)

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert service.calls == []
    assert SlotSet("description", "The app crashes on start") in events


def test_email_is_asked_when_the_service_is_down(service, load_tracker, dispatcher, domain):
    service.down()
    tracker = ticket_form_turn(load_tracker, "category", "orders", description="Parcel is late")

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert not any(e["name"] == "customer_has_email" for e in events)
    assert required_slots(tracker, dispatcher, domain) == ["description", "category", "email"]


@pytest.mark.parametrize(
    "typed, category",
    [("billing", "billing"), ("Technical", "technical"), ("it's about my delivery", "orders"),
     ("I can't log in", "account")],
)
def test_category_typed_in_words(service, load_tracker, dispatcher, domain, typed, category):
    service.on("GET", "/api/categories", {"categories": BUILT_IN})
    tracker = ticket_form_turn(load_tracker, "category", typed, description="Some problem",
                               customer_has_email=True)

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert SlotSet("category", category) in events


def test_unknown_category_shows_the_buttons_again(service, load_tracker, dispatcher, domain):
    service.on("GET", "/api/categories", {"categories": BUILT_IN})
    tracker = ticket_form_turn(load_tracker, "category", "something else", description="Problem",
                               customer_has_email=True)

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert SlotSet("category", None) in events
    assert dispatcher.buttons == [CATEGORY_BUTTONS]
    assert CATEGORY_BUTTONS[0] == {"title": "Billing", "payload": '/inform{"category":"billing"}'}


def test_the_admins_own_categories_are_accepted_and_offered(service, load_tracker, dispatcher, domain):
    service.on("GET", "/api/categories", {"categories": BUILT_IN + [{"slug": "warranty", "name": "Warranty"}]})
    typed = ticket_form_turn(load_tracker, "category", "a warranty claim", description="Broken watch",
                             customer_has_email=True)
    assert SlotSet("category", "warranty") in run(ValidateTicketForm(), dispatcher, typed, domain)
    unknown = ticket_form_turn(load_tracker, "category", "something else", description="Problem",
                               customer_has_email=True)
    run(ValidateTicketForm(), dispatcher, unknown, domain)
    assert dispatcher.buttons[-1][-1] == {"title": "Warranty", "payload": '/inform{"category":"warranty"}'}


@pytest.mark.parametrize("answer", [{"status": 500}, {"body": {"categories": "nope"}}])
def test_without_the_services_categories_the_built_in_ones_are_offered(service, load_tracker, dispatcher, domain,
                                                                       answer):
    service.on("GET", "/api/categories", **answer)
    tracker = ticket_form_turn(load_tracker, "category", "orders", description="Parcel is late",
                               customer_has_email=True)
    assert SlotSet("category", "orders") in run(ValidateTicketForm(), dispatcher, tracker, domain)
    unknown = ticket_form_turn(load_tracker, "category", "something else", description="Problem",
                               customer_has_email=True)
    run(ValidateTicketForm(), dispatcher, unknown, domain)
    assert dispatcher.buttons[-1] == CATEGORY_BUTTONS


def test_too_short_description_is_asked_again(service, load_tracker, dispatcher, domain):
    tracker = ticket_form_turn(load_tracker, "description", "help", customer_has_email=True)

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert SlotSet("description", None) in events
    assert dispatcher.texts == ["Could you describe the problem in a few more words?"]


@pytest.mark.parametrize(
    "typed, email",
    [("anna@example.com", "anna@example.com"),
     ("my email is j.doe+cc@mail.example.org thanks", "j.doe+cc@mail.example.org"),
     ("not telling", None), ("anna@localhost", None)],
)
def test_email_is_checked(service, load_tracker, dispatcher, domain, typed, email):
    tracker = ticket_form_turn(load_tracker, "email", typed, description="Problem here",
                               category="billing", customer_has_email=False)

    events = run(ValidateTicketForm(), dispatcher, tracker, domain)

    assert SlotSet("email", email) in events
    assert bool(dispatcher.messages) == (email is None)


def test_email_form_checks_the_address(load_tracker, dispatcher, domain):
    tracker = load_tracker("submit_contact", slots={"email": "anna at example", "requested_slot": "email"},
                           active_loop={"name": "email_form"})
    tracker.events.append({"event": "slot", "name": "email", "value": "anna at example"})

    events = run(ValidateEmailForm(), dispatcher, tracker, domain)

    assert SlotSet("email", None) in events
    assert "doesn't look like an email address" in dispatcher.texts[0]


@pytest.mark.parametrize("typed, number", [("#17", "17"), ("it's 0042", "42"), ("no idea", None)])
def test_ticket_number_is_normalised(load_tracker, dispatcher, domain, typed, number):
    tracker = load_tracker("ticket_status", slots={"ticket_number": typed, "requested_slot": "ticket_number"},
                           active_loop={"name": "ticket_status_form"})
    tracker.events.append({"event": "slot", "name": "ticket_number", "value": typed})

    events = run(ValidateTicketStatusForm(), dispatcher, tracker, domain)

    assert SlotSet("ticket_number", number) in events


def test_cancel_resets_form_slots(load_tracker, dispatcher):
    events = ActionCancelForm().run(dispatcher, load_tracker("ticket_form_done"), {})

    assert dispatcher.texts == ["No problem, I've stopped. Is there anything else I can help you with?"]
    assert SlotSet("description", None) in events and SlotSet("category", None) in events
