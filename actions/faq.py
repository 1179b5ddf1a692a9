"""Answers customer questions from the FAQ of the handoff service."""

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
    TICKET_BUTTON,
    conversation_id,
    latest_intent,
    latest_question,
)

logger = logging.getLogger(__name__)

# Values of the `faq_outcome` slot; action_handoff reads it to pick a handoff reason.
OUTCOME_ANSWER = "answer"
OUTCOME_CHOOSE = "choose"
OUTCOME_UNKNOWN = "unknown"
OUTCOME_ERROR = "error"

MAX_CHOICES = 3
NONE_OF_THESE_BUTTON = {"title": "None of these", "payload": "/human_handoff"}


def choose_faq_payload(faq_id: Any) -> str:
    return f'/choose_faq{{"faq_id":"{faq_id}"}}'


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        faq_id = self._chosen_faq_id(tracker)
        try:
            if faq_id is not None:
                outcome = self._answer_chosen(dispatcher, faq_id)
            else:
                outcome = self._answer_search(dispatcher, tracker)
        except NotFound:
            logger.info("FAQ %s no longer exists", faq_id)
            outcome = self._say_unknown(dispatcher)
        except HandoffServiceError:
            logger.exception("FAQ lookup failed")
            dispatcher.utter_message(
                text=f"{SERVICE_DOWN} Please try again in a few minutes, "
                "or leave your question with a person or in a ticket.",
                buttons=[PERSON_BUTTON, TICKET_BUTTON],
            )
            outcome = OUTCOME_ERROR
        return [SlotSet("faq_id", None), SlotSet("faq_outcome", outcome)]

    @staticmethod
    def _chosen_faq_id(tracker: Tracker) -> Any:
        if latest_intent(tracker) != "choose_faq":
            return None
        entity = next(tracker.get_latest_entity_values("faq_id"), None)
        return entity if entity is not None else tracker.get_slot("faq_id")

    @staticmethod
    def _answer_chosen(dispatcher: CollectingDispatcher, faq_id: Any) -> str:
        faq = handoff_client.get_faq(faq_id)
        answer = faq.get("answer")
        if not isinstance(answer, str) or not answer:
            raise HandoffServiceError(f"FAQ {faq_id} has no answer text")
        dispatcher.utter_message(text=answer)
        return OUTCOME_ANSWER

    def _answer_search(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> str:
        question = latest_question(tracker)
        if not question:
            dispatcher.utter_message(text="Sure, what would you like to know?")
            return OUTCOME_UNKNOWN

        result = handoff_client.search_faq(question, limit=MAX_CHOICES, conversation_id=conversation_id(tracker))
        decision = result.get("decision")
        matches = [
            m
            for m in result.get("matches") or []
            if isinstance(m, dict) and m.get("faq_id") is not None
        ]
        if decision not in (OUTCOME_ANSWER, OUTCOME_CHOOSE, OUTCOME_UNKNOWN):
            raise HandoffServiceError(f"FAQ search gave unknown decision {decision!r}")

        if decision == OUTCOME_ANSWER and matches and matches[0].get("answer"):
            dispatcher.utter_message(text=matches[0]["answer"])
            return OUTCOME_ANSWER
        if decision == OUTCOME_CHOOSE and matches:
            buttons = [
                {"title": m.get("question") or f"FAQ {m['faq_id']}",
                 "payload": choose_faq_payload(m["faq_id"])}
                for m in matches[:MAX_CHOICES]
            ]
            dispatcher.utter_message(
                text="Did you mean one of these?", buttons=buttons + [NONE_OF_THESE_BUTTON]
            )
            return OUTCOME_CHOOSE
        return self._say_unknown(dispatcher)

    @staticmethod
    def _say_unknown(dispatcher: CollectingDispatcher) -> str:
        dispatcher.utter_message(
            text="Sorry, I don't know the answer to that one. "
            "Would you like to talk to a person or open a ticket?",
            buttons=[PERSON_BUTTON, TICKET_BUTTON],
        )
        return OUTCOME_UNKNOWN
