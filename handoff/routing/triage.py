"""How urgent a new ticket or handed-off chat is, what it is about, and why: urgency cues in its words, the
tone (VADER's sentiment, a maintained lexicon, not a word list of ours), the customer's history, and the
category its words point at (category_cues.py).

Each cue names its reason as agents see it ("mentions being charged twice"). The priority is the
highest a cue sets (normal when none); an angry tone or a customer back again (a reopened ticket, a
second contact within a day) raises it one step, up to urgent.

Where the organisation's own model (triage_model.py) has beaten the cues on agents' corrections, its
prediction is the one shown, per target; the cues' own guess is kept beside it, so later corrections
keep measuring both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from handoff.models import PRIORITIES, Conversation, Ticket, TicketEvent
from handoff.realtime import off_the_loop
from handoff.routing import category_cues, triage_model

CUES = (
    (r"\b(hack(ed|ing)?|fraud(ulent)?|unauthori[sz]ed|stolen|someone else (used|logged))\b", "urgent",
     "mentions fraud or a hacked account"),
    (r"\b(lawyer|legal action|sue|court|chargeback|ombudsman)\b", "urgent", "mentions legal action"),
    (r"\b(charged|billed|paid|debited) (me )?(twice|two times|double)|double[- ]charged?\b", "high",
     "mentions being charged twice"),
    (r"\b(account|login) (is |was |got )?(locked|blocked|disabled|suspended)|locked out\b", "high",
     "account locked"),
    (r"\b(urgent(ly)?|asap|immediately|right now|emergency)\b", "high", "says it is urgent"),
    (r"\b(still (not|no|waiting)|again|(second|third|3rd|2nd) time|weeks? (ago|late))\b", "high",
     "has been waiting or is writing again"),
    (r"\b(not working|broken|can'?t (use|access|log ?in)|stopped working|error)\b", "normal",
     "something does not work"),
)
ANGRY = -0.5  # VADER's compound score at or below which the tone counts as angry
FRIENDLY = 0.45
REPEAT_WINDOW = timedelta(days=1)
_analyzer = SentimentIntensityAnalyzer()
_compiled = [(re.compile(pattern, re.IGNORECASE), priority, reason) for pattern, priority, reason in CUES]


@dataclass
class Triage:
    priority: str = "normal"
    reasons: list[str] = field(default_factory=list)
    tone: float = 0.0
    category: str | None = None
    category_reason: str | None = None
    # What the cues alone said, and which of cues / model set each target: corrections measure both.
    cues: dict = field(default_factory=dict)
    by: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"priority": self.priority, "reasons": self.reasons, "tone": round(self.tone, 3),
                "category": self.category, "category_reason": self.category_reason,
                "cues": self.cues or {"priority": self.priority, "category": self.category},
                "by": self.by or {"priority": "cues", "category": "cues"}}


def _raise(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


def assess(text: str, *, returning: str | None = None) -> Triage:
    """The priority and its reasons from the text; `returning` names why the customer counts as back."""
    rank = PRIORITIES.index("normal")
    reasons = []
    for pattern, priority, reason in _compiled:
        if pattern.search(text or ""):
            rank = max(rank, PRIORITIES.index(priority))
            reasons.append(reason)
    result = Triage(PRIORITIES[rank], reasons, _analyzer.polarity_scores(text or "")["compound"])
    if result.tone <= ANGRY:
        result.priority = _raise(result.priority)
        result.reasons.append("angry tone")
    elif result.tone >= FRIENDLY and not reasons and not returning:
        result.priority = "low"
        result.reasons.append("a friendly question")
    if returning:
        result.priority = _raise(result.priority)
        result.reasons.append(returning)
    return result


def returning(s: Session, customer_id: int, now: datetime, *, conversation_id: int | None = None,
              parent_id: int | None = None) -> str | None:
    """Why this customer counts as back: a follow-up or reopened ticket, or a second contact within a day."""
    if parent_id is not None:
        return "follow-up to a closed ticket"
    reopened = s.scalar(select(func.count()).select_from(TicketEvent).join(Ticket, Ticket.id == TicketEvent.ticket_id)
                        .where(Ticket.customer_id == customer_id, TicketEvent.kind == "status_changed",
                               TicketEvent.created_at >= now - REPEAT_WINDOW * 7)
                        .where(TicketEvent.data["old"].as_string() == "resolved"))
    if reopened:
        return "reopened a ticket this week"
    since = now - REPEAT_WINDOW
    tickets = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.customer_id == customer_id,
                                                                      Ticket.created_at >= since)) or 0
    chats = s.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.customer_id == customer_id, Conversation.queued_at >= since,
        Conversation.id != (conversation_id or 0))) or 0
    return "second contact today" if tickets + chats else None


def predict(s: Session, text: str, *, returning: str | None = None, topic: str | None = None,
            chosen: str | None = None, chooser: str = "customer") -> Triage:
    """The full triage of a new item: priority and category with their reasons.

    `topic` is the category of the FAQ the bot last matched in the chat; `chosen` a category someone
    picked (the customer in a form, an agent), which stays the item's category whatever is predicted.
    """
    result = assess(text, returning=returning)
    categories, faqs = category_cues.known(s)
    if topic in categories:
        guess = category_cues.Guess(topic, f"the bot matched an FAQ about {categories[topic].lower()}")
    else:
        guess = category_cues.guess(text, categories, faqs)
    result.category, result.category_reason = guess.category, guess.reason
    result.cues = {"priority": result.priority, "category": result.category}
    result.by = {"priority": "cues", "category": "cues"}
    # A few milliseconds of n-grams per target once the model is in charge: not on the loop.
    model = triage_model.current
    learned = off_the_loop(model.predict, text, result.priority, result.category) \
        if any(v.in_charge for v in model.verdicts.values()) else {}
    for target, (label, reason) in learned.items():
        if target == "priority" and label in PRIORITIES:
            if label != result.priority:
                result.priority, result.reasons = label, [reason] + result.reasons
            result.by["priority"] = "model"
        elif target == "category" and label in categories:  # a category since deleted stays the cues'
            if label != result.category:
                result.category, result.category_reason = label, reason
            result.by["category"] = "model"
    if chosen:
        result.category, result.category_reason = chosen, f"chosen by the {chooser}"
    return result
