"""What a chat's customer needs, read from their own lines: a ticket's subject, description and category.

A chat is full of lines that say nothing about the problem: a greeting, "I want a person", the address
given to the ticket form, and the payloads of the buttons the bot offered (stored as "/intent" text).
"""
from __future__ import annotations

import re

from handoff.models import SEED_CATEGORIES
from handoff.routing import category_cues

_EMAIL = re.compile(r"^\S+@\S+\.\S+$")
_SMALL_TALK = re.compile(
    r"^(hi|hey|hello|hiya|howdy|good (morning|afternoon|evening)|yo|thanks?( you)?|thank you( very much)?|ok(ay)?"
    r"|yes|yeah|yep|no|nope|sure|please|bye|goodbye|cheers)\b[\s!.,?a-z]{0,12}$", re.I)
_ASK_FOR_PERSON = re.compile(
    r"\b(talk|speak|chat|connect|put me through)\b.{0,20}\b(human|person|agent|someone|somebody|representative"
    r"|operator|staff|people)\b|\breal (person|human)\b|^(human|agent|operator|representative)( please)?\W*$", re.I)
MAX_SUBJECT = 80


def customer_lines(messages: list[dict]) -> list[str]:
    """The customer's own words: no button payloads, no bare e-mail addresses, no empty lines."""
    lines = []
    for m in messages:
        text = str(m.get("text") or "").strip()
        if m.get("sender") != "customer" or not text or text.startswith("/") or _EMAIL.match(text):
            continue
        lines.append(text)
    return lines


def need_lines(messages: list[dict]) -> list[str]:
    """The customer's lines that describe the problem: no greetings, thanks or asking for a person."""
    return [t for t in customer_lines(messages) if not _SMALL_TALK.match(t) and not _ASK_FOR_PERSON.search(t)]


def need(messages: list[dict]) -> str | None:
    """One line saying what the customer needs (their most recent problem statement), or None."""
    lines = need_lines(messages)
    return lines[-1] if lines else None


def subject(messages: list[dict]) -> str:
    lines = need_lines(messages)
    if not lines:
        return "Support request from a chat"
    # The first statement of the problem names it best; later lines are usually details and answers.
    first = " ".join(lines[0].split())
    return first if len(first) <= MAX_SUBJECT else first[:MAX_SUBJECT - 1].rstrip() + "…"


def description(messages: list[dict]) -> str:
    """The lines about the problem; a chat of small talk only keeps what there is."""
    return "\n".join(need_lines(messages) or customer_lines(messages)) or "Opened from a chat."


def predict_category(messages: list[dict], topic: str | None = None) -> str | None:
    """The category of the FAQ the bot last matched, else the one the customer's words point at, else None."""
    if topic:  # the bot matched an FAQ of this topic: an admin-defined category
        return topic
    return category_cues.guess(" ".join(need_lines(messages)), {c: c for c in SEED_CATEGORIES}).category


def draft(messages: list[dict], topic: str | None = None) -> dict:
    return {"subject": subject(messages), "description": description(messages),
            "category": predict_category(messages, topic), "need": need(messages)}
