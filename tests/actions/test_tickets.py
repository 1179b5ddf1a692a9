import pytest
from rasa_sdk.events import SlotSet

from actions.replies import PERSON_BUTTON
from actions.tickets import RETRY_TICKET_BUTTON, ActionCreateTicket, ActionTicketStatus


def test_ticket_is_opened_and_form_slots_reset(service, load_tracker, dispatcher):
    service.on("POST", "/api/conversations/12/tickets",
               {"number": 57, "status": "open", "category": "billing"}, status=201)

    events = ActionCreateTicket().run(dispatcher, load_tracker("ticket_form_done"), {})

    assert service.calls[0]["json"] == {
        "description": "My invoice shows the wrong amount",
        "category": "billing",
        "email": "anna@example.com",
    }
    assert dispatcher.texts[0].startswith("I've opened ticket #57 (billing).")
    assert events == [SlotSet("description", None), SlotSet("category", None)]


def test_known_customer_ticket_has_no_email(service, load_tracker, dispatcher):
    service.on("POST", "/api/conversations/12/tickets", {"number": 3}, status=201)

    ActionCreateTicket().run(dispatcher, load_tracker("ticket_form_done", slots={"email": None}), {})

    assert "email" not in service.calls[0]["json"]


def test_service_down_keeps_the_details_for_a_retry(service, load_tracker, dispatcher):
    service.down()

    events = ActionCreateTicket().run(dispatcher, load_tracker("ticket_form_done"), {})

    assert dispatcher.texts[0].startswith("Sorry, I can't reach our support system right now.")
    assert dispatcher.buttons == [[RETRY_TICKET_BUTTON, PERSON_BUTTON]]
    assert events == []


def test_ticket_without_number_in_answer_is_a_service_error(service, load_tracker, dispatcher):
    service.on("POST", "/api/conversations/12/tickets", {"status": "open"}, status=201)

    events = ActionCreateTicket().run(dispatcher, load_tracker("ticket_form_done"), {})

    assert dispatcher.buttons == [[RETRY_TICKET_BUTTON, PERSON_BUTTON]]
    assert events == []


@pytest.mark.parametrize(
    "ticket, expected",
    [
        ({"number": 42, "status": "in_progress", "subject": "Wrong invoice", "assignee": "Maria"},
         "Ticket #42 (Wrong invoice) is in progress. Maria is handling it."),
        ({"number": 42, "status": "open", "subject": None, "assignee": None},
         "Ticket #42 is open. It is not assigned yet."),
    ],
    ids=["assigned", "not-assigned"],
)
def test_status_is_reported(service, load_tracker, dispatcher, ticket, expected):
    service.on("GET", "/api/conversations/12/tickets/42", ticket)

    events = ActionTicketStatus().run(dispatcher, load_tracker("ticket_status"), {})

    assert dispatcher.texts == [expected]
    assert events == [SlotSet("ticket_number", None)]


def test_number_written_with_hash_is_normalised(service, load_tracker, dispatcher):
    service.on("GET", "/api/conversations/12/tickets/17", {"status": "closed"})

    ActionTicketStatus().run(dispatcher, load_tracker("ticket_status", slots={"ticket_number": "#17"}), {})

    assert dispatcher.texts == ["Ticket #17 is closed. It is not assigned yet."]


def test_other_customers_ticket_is_not_found(service, load_tracker, dispatcher):
    service.on("GET", "/api/conversations/12/tickets/42",
               {"code": 404, "message": "No such ticket."}, status=404)

    events = ActionTicketStatus().run(dispatcher, load_tracker("ticket_status"), {})

    assert dispatcher.texts == [
        "I couldn't find ticket #42 among your tickets. Please check the number."
    ]
    assert events == [SlotSet("ticket_number", None)]


def test_missing_number_is_asked_for(service, load_tracker, dispatcher):
    tracker = load_tracker("ticket_status", slots={"ticket_number": None},
                           latest_message={"text": "any news on my ticket", "entities": []})

    ActionTicketStatus().run(dispatcher, tracker, {})

    assert service.calls == []
    assert dispatcher.texts == ["Which ticket do you mean? Please tell me its number, for example 42."]


def test_status_when_service_is_down(service, load_tracker, dispatcher):
    service.down()

    events = ActionTicketStatus().run(dispatcher, load_tracker("ticket_status"), {})

    assert dispatcher.texts[0].startswith("Sorry, I can't reach our support system right now.")
    assert dispatcher.buttons == [[PERSON_BUTTON]]
    assert events == [SlotSet("ticket_number", None)]
