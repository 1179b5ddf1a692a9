"""Which customer messages are questions worth learning an FAQ from.

The learning loop must learn from the question the bot failed on, not from what came around it: a
request for a person, a greeting, a button's payload, a form answer (an email address, a category, a
yes or no) or a keyboard mash.
"""
from __future__ import annotations

import re
from functools import lru_cache

from handoff.models import SEED_CATEGORIES

from . import sentence_encoder
from .handoff_request import asks_for_person
from .matcher import normalize

_SMALL_TALK = frozenset("""hi hello hey hiya yo hallo good morning good afternoon good evening thanks thank you thx
    ty cheers ok okay k yes no yeah yep nope sure fine great bye goodbye see you stop cancel help
    nothing never mind nevermind none of these""".split()) | frozenset(
    ["good morning", "good afternoon", "good evening", "thank you", "thanks a lot", "see you", "never mind",
     "none of these", "no thanks", "ok thanks", "thank you very much", "hello there", "hi there"])
_EMAIL = re.compile(r"^\S+@\S+\.\S+$")
_WORD = re.compile(r"[a-z]+")
_VOWELS = re.compile(r"[aeiouy]")


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """Whole English words of the sentence model's vocabulary (~20,000), or none without the model."""
    path = sentence_encoder.model_dir()
    if path is None or not (path / "vocab.txt").is_file():
        return frozenset()
    words = (path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in words if w.isalpha() and w.isascii())


def looks_like_words(text: str) -> bool:
    """False for a keyboard mash ("xqz blorp wibble", "asdfgh"): most words are not words."""
    words = [w for w in _WORD.findall(text.lower()) if len(w) >= 2]
    if not words:
        return False
    dictionary = _dictionary()
    if dictionary:
        known = sum(w in dictionary for w in words)
    else:  # no model files: a word needs a vowel and no run of five consonants
        known = sum(bool(_VOWELS.search(w)) and not re.search(r"[^aeiouy]{5}", w) for w in words)
    return known / len(words) >= 0.6


def worth_learning(text: str | None) -> bool:
    """True when `text` is a question a new FAQ could answer."""
    text = (text or "").strip()
    if not text or text.startswith("/") or _EMAIL.match(text) or asks_for_person(text):
        return False
    cleaned = normalize(text)
    if not cleaned or cleaned in _SMALL_TALK or cleaned in SEED_CATEGORIES:
        return False
    if all(w in _SMALL_TALK for w in cleaned.split()):
        return False
    return looks_like_words(cleaned)
