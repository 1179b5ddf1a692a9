"""Opening tickets and reporting their status."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff_client
from actions.handoff_client import HandoffServiceError, NotFound
from actions.replies import (
    PERSON_BUTTON,
    SERVICE_DOWN,
    conversation_id,
    email_address,
    ticket_number,
)

logger = logging.getLogger(__name__)

RETRY_TICKET_BUTTON = {"title": "Try again", "payload": "/open_ticket"}


class ActionCreateTicket(Action):
    def name(self) -> Text:
        return "action_create_ticket"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        description = tracker.get_slot("description")
        category = tracker.get_slot("category")
        if not description or not category:
            dispatcher.utter_message(
                text="I need a short description and a category to open a ticket. "
                "Let's start again.",
                buttons=[RETRY_TICKET_BUTTON],
            )
            return [SlotSet("description", None), SlotSet("category", None)]

        try:
            ticket = handoff_client.create_ticket(
                conversation_id(tracker),
                description=description,
                category=category,
                email=email_address(tracker.get_slot("email")),
            )
            number = ticket["number"]
        except (HandoffServiceError, KeyError, TypeError):
            logger.exception("Creating a ticket failed")
            # The form slots are kept: "Try again" re-runs the form, which is already
            # complete, so the ticket is created without asking again.
            dispatcher.utter_message(
                text=f"{SERVICE_DOWN} I couldn't open your ticket yet. "
                "You can try again in a moment or talk to a person.",
                buttons=[RETRY_TICKET_BUTTON, PERSON_BUTTON],
            )
            return []

        dispatcher.utter_message(
            text=f"I've opened ticket #{number} ({category}). Our team will follow up; "
            f'you can ask me "status of ticket {number}" at any time.'
        )
        return [SlotSet("description", None), SlotSet("category", None)]


class ActionTicketStatus(Action):
    def name(self) -> Text:
        return "action_ticket_status"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        number = ticket_number(tracker.get_slot("ticket_number")) or ticket_number(
            next(tracker.get_latest_entity_values("ticket_number"), None)
        )
        if number is None:
            dispatcher.utter_message(
                text="Which ticket do you mean? Please tell me its number, for example 42."
            )
            return [SlotSet("ticket_number", None)]

        try:
            ticket = handoff_client.get_ticket(conversation_id(tracker), number)
        except NotFound:
            dispatcher.utter_message(
                text=f"I couldn't find ticket #{number} among your tickets. "
                "Please check the number."
            )
            return [SlotSet("ticket_number", None)]
        except HandoffServiceError:
            logger.exception("Looking up ticket %s failed", number)
            dispatcher.utter_message(
                text=f"{SERVICE_DOWN} Please ask me about ticket #{number} again "
                "in a few minutes, or talk to a person.",
                buttons=[PERSON_BUTTON],
            )
            return [SlotSet("ticket_number", None)]

        dispatcher.utter_message(text=describe_ticket(number, ticket))
        return [SlotSet("ticket_number", None)]


def describe_ticket(number: str, ticket: Dict[str, Any]) -> str:
    status = str(ticket.get("status") or "unknown").replace("_", " ")
    subject = ticket.get("subject")
    title = f"Ticket #{number} ({subject})" if subject else f"Ticket #{number}"
    assignee = ticket.get("assignee")
    who = f"{assignee} is handling it." if assignee else "It is not assigned yet."
    return f"{title} is {status}. {who}"
