"""Validation of the bot's forms, and cancelling a form."""

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import handoff_client
from actions.handoff_client import HandoffServiceError
from actions.replies import CATEGORIES, conversation_id, email_address, ticket_number

logger = logging.getLogger(__name__)

# The built-in categories' buttons (the form's first question, utter_ask_category, offers these); when the
# customer's answer is not one of them, the admin's own categories are offered (known_categories).
CATEGORY_BUTTONS = [
    {"title": category.capitalize(), "payload": f'/inform{{"category":"{category}"}}'}
    for category in CATEGORIES
]

# Words a customer may type instead of pressing a category button.
CATEGORY_WORDS = {
    "billing": ("bill", "invoice", "payment", "pay", "refund", "charge", "price", "subscription"),
    "account": ("account", "login", "log in", "password", "profile", "sign in", "username"),
    "orders": ("order", "delivery", "shipping", "parcel", "package", "return", "tracking"),
    "technical": ("technical", "tech", "bug", "crash", "error", "app", "website", "broken"),
}

MIN_DESCRIPTION_LENGTH = 5


def known_categories() -> Dict[str, str]:
    """The admin's categories (slug -> name) from the service; the built-in four when it cannot say."""
    try:
        rows = handoff_client.get_categories()
    except HandoffServiceError:
        logger.warning("Categories not available; offering the built-in ones", exc_info=True)
        rows = []
    return {r["slug"]: r["name"] for r in rows} or {c: c.capitalize() for c in CATEGORIES}


def category_buttons(known: Dict[str, str]) -> List[Dict[str, str]]:
    return [{"title": name, "payload": f'/inform{{"category":"{slug}"}}'} for slug, name in known.items()]


def category_from_text(value: Any, known: Optional[Dict[str, str]] = None) -> Optional[str]:
    if not isinstance(value, str):
        return None
    known = known or {c: c.capitalize() for c in CATEGORIES}
    text = value.strip().lower()
    for slug, name in known.items():
        if text in (slug, name.lower()):
            return slug
    for category, words in CATEGORY_WORDS.items():
        if category in known and any(re.search(rf"\b{re.escape(word)}", text) for word in words):
            return category
    for slug, name in known.items():  # an admin's own category named in a sentence
        if re.search(rf"\b({re.escape(slug)}|{re.escape(name.lower())})\b", text):
            return slug
    return None


def validate_email_slot(value: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    email = email_address(value)
    if email is None:
        dispatcher.utter_message(
            text="That doesn't look like an email address. Please type it like "
            "name@example.com, or say stop."
        )
    return {"email": email}


class ValidateTicketForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_ticket_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # Ask the service once per conversation whether it already knows the
        # customer's email; required_slots runs several times per turn.
        events: List[EventType] = []
        if tracker.get_slot("customer_has_email") is None:
            known = self._customer_has_email(tracker)
            if known is not None:
                events.append(SlotSet("customer_has_email", known))
                tracker.slots["customer_has_email"] = known
        return events + await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _customer_has_email(tracker: Tracker) -> Optional[bool]:
        try:
            customer = handoff_client.get_customer(conversation_id(tracker))
        except HandoffServiceError:
            # Unknown: ask for the email rather than risk a ticket nobody can answer.
            logger.warning("Customer lookup failed; asking for an email", exc_info=True)
            return None
        return bool(customer.get("email"))

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("customer_has_email"):
            return [slot for slot in domain_slots if slot != "email"]
        return list(domain_slots)

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = value.strip() if isinstance(value, str) else ""
        if len(text) < MIN_DESCRIPTION_LENGTH or text.startswith("/"):
            dispatcher.utter_message(
                text="Could you describe the problem in a few more words?"
            )
            return {"description": None}
        return {"description": text}

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        known = known_categories()
        category = category_from_text(value, known)
        if category is None:
            dispatcher.utter_message(
                text="Please choose one of these categories.", buttons=category_buttons(known)
            )
        return {"category": category}

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return validate_email_slot(value, dispatcher)


class ValidateTicketStatusForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_ticket_status_form"

    def validate_ticket_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = ticket_number(value)
        if number is None:
            dispatcher.utter_message(
                text="Please type the ticket number, for example 42, or say stop."
            )
        return {"ticket_number": number}


class ValidateEmailForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_email_form"

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return validate_email_slot(value, dispatcher)


class ActionCancelForm(Action):
    """Runs after action_deactivate_loop when the customer says stop inside a form."""

    def name(self) -> Text:
        return "action_cancel_form"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        dispatcher.utter_message(
            text="No problem, I've stopped. Is there anything else I can help you with?"
        )
        return [
            SlotSet("description", None),
            SlotSet("category", None),
            SlotSet("ticket_number", None),
            SlotSet("handoff_needs_email", False),
        ]
