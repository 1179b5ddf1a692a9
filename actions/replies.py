"""Wording and tracker helpers shared by several actions."""

import re
from typing import Any, Dict, Iterator, List, Optional

from rasa_sdk import Tracker

CATEGORIES = ("billing", "account", "orders", "technical")

PERSON_BUTTON = {"title": "Talk to a person", "payload": "/human_handoff"}
TICKET_BUTTON = {"title": "Open a ticket", "payload": "/open_ticket"}

SERVICE_DOWN = "Sorry, I can't reach our support system right now."

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TICKET_NUMBER_RE = re.compile(r"\d{1,9}")


def conversation_id(tracker: Tracker) -> str:
    """The handoff service names the Rasa sender after its conversation id."""
    return str(tracker.sender_id)


def latest_intent(tracker: Tracker) -> Optional[str]:
    # Not Tracker.get_intent_of_latest_message: that one needs an intent_ranking.
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def ticket_number(value: Any) -> Optional[str]:
    """'#42', 42 or 'ticket 42' -> '42'; anything without digits -> None."""
    if value is None or isinstance(value, bool):
        return None
    match = TICKET_NUMBER_RE.search(str(value))
    return str(int(match.group())) if match else None


def email_address(value: Any) -> Optional[str]:
    """The first email address written in `value`, or None."""
    if not isinstance(value, str):
        return None
    match = EMAIL_RE.search(value)
    return match.group() if match else None


def latest_question(tracker: Tracker) -> Optional[str]:
    """The customer's latest typed text, skipping button payloads such as '/ask_question'.

    A payload is what remains after the two-stage fallback's affirmation: the words the
    customer typed are in the earlier (reverted) user event.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        if text and not text.startswith("/"):
            return text
    return None


def previous_bot_turn(tracker: Tracker) -> List[Dict[str, Any]]:
    """Events between the customer's previous message and the latest one."""
    events = tracker.events
    user_positions = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not user_positions:
        return []
    latest = user_positions[-1]
    start = user_positions[-2] + 1 if len(user_positions) > 1 else 0
    return events[start:latest]


def executed_actions(events: List[Dict[str, Any]]) -> Iterator[str]:
    for event in events:
        if event.get("event") == "action":
            yield event.get("name")
        elif event.get("event") == "bot":
            utter_action = (event.get("metadata") or {}).get("utter_action")
            if utter_action:
                yield utter_action
