"""Handing the conversation over to a person, and collecting an email for the reply."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff_client
from actions.faq import OUTCOME_CHOOSE, OUTCOME_UNKNOWN
from actions.handoff_client import HandoffServiceError
from actions.replies import (
    SERVICE_DOWN,
    TICKET_BUTTON,
    conversation_id,
    email_address,
    executed_actions,
    previous_bot_turn,
)

logger = logging.getLogger(__name__)

REASON_CUSTOMER_REQUEST = "customer_request"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_REPEATED_FALLBACK = "repeated_fallback"

# What the bot did last when the two-stage fallback gave up (utter_default is what
# action_default_fallback says).
FALLBACK_ACTIONS = {"action_default_fallback", "utter_default"}


def handoff_reason(tracker: Tracker) -> str:
    """Why the customer ends up with a person, judged from the bot's previous turn and how they asked:
    a button the bot offered after it did not know ("Talk to a person", "None of these") is the bot's
    low confidence; the same request typed in their own words, even right after the bot offered
    choices, is the customer's."""
    previous_actions = set(executed_actions(previous_bot_turn(tracker)))
    if previous_actions & FALLBACK_ACTIONS:
        return REASON_REPEATED_FALLBACK
    typed = not ((tracker.latest_message or {}).get("text") or "").strip().startswith("/")
    if typed:
        return REASON_CUSTOMER_REQUEST
    if "action_answer_faq" in previous_actions and tracker.get_slot("faq_outcome") in (
        OUTCOME_UNKNOWN,
        OUTCOME_CHOOSE,  # the customer answered "None of these"
    ):
        return REASON_LOW_CONFIDENCE
    return REASON_CUSTOMER_REQUEST


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        reason = handoff_reason(tracker)
        done = [SlotSet("faq_outcome", None), SlotSet("handoff_needs_email", False)]
        try:
            result = handoff_client.request_handoff(conversation_id(tracker), reason)
            status = result.get("status")
            if status == "queued":
                dispatcher.utter_message(
                    text="I'm connecting you with a person. Someone will join this "
                    "chat shortly; you can keep writing here in the meantime."
                )
                return done
            if status == "closed":
                words = (result.get("closed") or {}).get("words") or "A person will be back soon"
                dispatcher.utter_message(
                    text=f"Our team is away right now. {words}. "
                    "Leave us a ticket and we'll answer by email.",
                    buttons=[TICKET_BUTTON],
                )
                return done
            if status != "ticket":
                raise HandoffServiceError(f"handoff answered unknown status {status!r}")
            number = result["ticket"]["number"]
            email_known = bool(result.get("email_known"))
        except (HandoffServiceError, KeyError, TypeError):
            logger.exception("Handoff request failed")
            dispatcher.utter_message(
                text=f"{SERVICE_DOWN} I can't connect you with a person at the moment. "
                "Please try again in a few minutes, or open a ticket.",
                buttons=[TICKET_BUTTON],
            )
            return done

        dispatcher.utter_message(
            text=f"No agent is available right now, so I've opened ticket #{number} "
            "with this conversation. We'll get back to you by email."
        )
        ticket_events = [SlotSet("handoff_ticket_number", str(number))]
        if email_known:
            return done + ticket_events
        # The rules in data/rules/handoff.yml start email_form on this slot.
        return [SlotSet("faq_outcome", None), SlotSet("handoff_needs_email", True)] + (
            ticket_events
        )


class ActionSubmitContact(Action):
    def name(self) -> Text:
        return "action_submit_contact"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        email = email_address(tracker.get_slot("email"))
        number = tracker.get_slot("handoff_ticket_number")
        about = f" about ticket #{number}" if number else ""
        done = [SlotSet("handoff_needs_email", False)]
        if email is None:
            dispatcher.utter_message(
                text="I didn't get a valid email address, so I couldn't save it."
            )
            return done + [SlotSet("email", None)]
        try:
            handoff_client.save_contact(conversation_id(tracker), email)
        except HandoffServiceError:
            logger.exception("Saving the contact email failed")
            dispatcher.utter_message(
                text=f"{SERVICE_DOWN} I couldn't save your email address. "
                "Please leave it in a message here; an agent will read this "
                "conversation."
            )
            return done
        dispatcher.utter_message(text=f"Thanks! We'll write to {email}{about}.")
        return done
