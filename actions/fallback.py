"""A friendlier first stage of Rasa's two-stage fallback.

Rasa's built-in action_default_ask_affirmation shows raw intent names
("Did you mean 'ask_question'?"); this one asks in words, and only about the
support flows: guessing "greet" is not worth a question, so it asks to rephrase.
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

INTENT_DESCRIPTIONS = {
    "ask_question": "ask a question about your account, billing, an order or a technical problem",
    "open_ticket": "open a support ticket",
    "ticket_status": "check the status of a ticket",
    "human_handoff": "talk to a person",
}


class ActionDefaultAskAffirmation(Action):
    def name(self) -> Text:
        return "action_default_ask_affirmation"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        guess = next(
            (
                item.get("name")
                for item in ranking
                if item.get("name") in INTENT_DESCRIPTIONS
            ),
            None,
        )
        if guess is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I understood. Do you want to {INTENT_DESCRIPTIONS[guess]}?",
            buttons=[
                {"title": "Yes", "payload": f"/{guess}"},
                {"title": "No, something else", "payload": "/out_of_scope"},
            ],
        )
        return []
