"""Whether a customer's message asks for a person, wherever in the message the request sits.

The bot's language model learns "talk to a person" from examples, but a long message ("I've waited two
weeks for my parcel, please get me a person") or one sent in the middle of a form can land on another
intent. These patterns are the safety net: a message they match goes to a person at once, with the
reason `customer_request`, whatever the bot was doing.
"""
from __future__ import annotations

import re

_PERSON = r"(?:a |an |the |some |one of your |your )?(?:real |live |actual )?" \
          r"(?:person|human(?: being)?|agent|someone|somebody|operator|representative|rep|staff(?: member)?|" \
          r"support (?:agent|person|staff)|customer service)"
_PATTERNS = [
    # "can I talk to a human", "let me speak with someone", "I want to chat to an agent"
    rf"\b(?:talk|speak|chat)\s+(?:to|with)\s+{_PERSON}\b",
    # "get me a person", "connect me to an agent", "put me through to someone", "transfer me to a human"
    rf"\b(?:get|give|find|connect|transfer|put)\s+me\s+(?:(?:to|with|through\s+to)\s+)?{_PERSON}\b",
    # "human please", "a real person please", "agent, please"
    r"\b(?:human|real person|live agent|agent|person)\s*,?\s*(?:please|pls|plz|now)\b",
    r"\b(?:i\s+(?:want|need|would like|'d like)|i'd like)\s+(?:a|an|to\s+have\s+a)\s+(?:real\s+|live\s+)?"
    r"(?:person|human|agent|representative)\b",
]
_REQUEST = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
# "the delivery person", "talk to someone at the bank" are not asking us for a person; nor is a
# negated request ("I don't need to talk to a person").
_NOT_A_REQUEST = re.compile(r"\b(?:do not|don't|dont|no need to|never)\s+(?:\w+\s+){0,3}(?:talk|speak|chat|need|want)\b",
                            re.IGNORECASE)
MAX_CHARS = 500  # a longer message is a description (a ticket, a complaint) that may quote such words


def asks_for_person(text: str | None) -> bool:
    """True when the customer's typed message asks to be handed to a person."""
    if not text or text.startswith("/") or len(text) > MAX_CHARS:
        return False
    text = text.replace("\u2019", "'")
    return bool(_REQUEST.search(text)) and not _NOT_A_REQUEST.search(text)
