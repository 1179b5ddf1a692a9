"""Which category a customer's words belong to, with no training data: the organisation's own FAQs (each
phrasing is labelled with its category by whoever wrote it), then words that name a category.

Each guess carries the reason agents see ('like the FAQ "How do I get a refund?"', "mentions 'invoice'").
The FAQ comparison is a word-overlap cosine (IDF-weighted, crudely stemmed), not the knowledge index's
encoder: routing sits below knowledge, and a ticket is triaged inside its opening transaction, where a
sentence model's milliseconds are not wanted.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import Category, Faq, FaqPhrasing, KnowledgeVersion

# Words that say which team a problem belongs to, for the categories a new install starts with; an
# admin's own categories are recognised by their code and name.
WORDS = {
    "billing": ("invoice", "bill", "billed", "billing", "charge", "charged", "refund", "payment", "pay", "paid",
                "card", "price", "subscription", "money", "receipt", "fee", "overcharged", "debited"),
    "orders": ("order", "parcel", "package", "delivery", "deliver", "delivered", "shipping", "shipped",
               "arrive", "arrived", "tracking", "return", "courier", "item"),
    "account": ("account", "password", "login", "log", "sign", "email", "username", "profile", "locked",
                "register"),
    "technical": ("error", "crash", "crashes", "bug", "app", "broken", "working", "install", "update",
                  "device", "screen", "battery", "connect", "wifi", "bluetooth"),
}
# Cosine at or above which the nearest FAQ phrasing names the category: below it, the overlap is a
# word or two in common ("sent", "wrong"), which the category words judge better. Chosen on the demo's
# FAQs alone, each FAQ's phrasings asked of the others (the case of a problem no FAQ covers): category
# right 58% at 0.35, 66% at 0.5, 67% at 0.55, and an FAQ's own near-copies still follow it at 0.5.
FAQ_SIMILAR = 0.5
_STOP = frozenset("a an the i me my we our you your it its is are was were be been am do does did to of in on "
                  "for with at by from and or but not no can could would should will how what when where why "
                  "which who this that these those there here have has had get got please hi hello thanks "
                  "thank just so if as".split())


@dataclass(frozen=True)
class Guess:
    category: str | None
    reason: str | None


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", (text or "").lower()) if w not in _STOP]


class FaqNeighbours:
    """The FAQ phrasings as IDF-weighted bags of words, for finding the one nearest a customer's text."""

    def __init__(self, phrasings: list[tuple[str, str, str]]):
        """phrasings: (phrasing text, its FAQ's category, the FAQ's question as agents know it)."""
        bags = [Counter(tokens(text)) for text, _, _ in phrasings]
        df = Counter(t for bag in bags for t in bag)
        n = len(bags)
        self._idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
        self._rows: list[tuple[float, str, str]] = []
        # word -> [(row, weight)]: a query only visits the phrasings it shares a word with.
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for bag, (_, category, question) in zip(bags, phrasings):
            vector = {t: c * self._idf[t] for t, c in bag.items()}
            norm = math.sqrt(sum(v * v for v in vector.values()))
            if not norm:
                continue
            for t, w in vector.items():
                self._postings.setdefault(t, []).append((len(self._rows), w))
            self._rows.append((norm, category, question))

    def nearest(self, text: str) -> tuple[float, str | None, str | None]:
        """(cosine, category, question) of the nearest phrasing; (0, None, None) when nothing overlaps."""
        query = {t: c * self._idf[t] for t, c in Counter(tokens(text)).items() if t in self._idf}
        norm = math.sqrt(sum(v * v for v in query.values()))
        if not norm:
            return 0.0, None, None
        dots: dict[int, float] = {}
        for t, w in query.items():
            for row, weight in self._postings[t]:
                dots[row] = dots.get(row, 0.0) + w * weight
        row, dot = max(dots.items(), key=lambda item: item[1] / self._rows[item[0]][0])
        row_norm, category, question = self._rows[row]
        return dot / (norm * row_norm), category, question


def guess(text: str, categories: dict[str, str], faqs: FaqNeighbours | None = None) -> Guess:
    """The category (one of `categories`, slug -> name) the text is about, and why; None when nothing says."""
    if faqs is not None:
        score, category, question = faqs.nearest(text)
        if category in categories and score >= FAQ_SIMILAR:
            return Guess(category, f"like the FAQ “{question}”")
    words = tokens(text)
    best, best_hits, best_word = None, 0, None
    for slug, name in categories.items():
        vocabulary = {_stem(w) for w in WORDS.get(slug, ())} | set(tokens(f"{slug} {name}"))
        hits = [w for w in words if w in vocabulary]
        if len(hits) > best_hits:
            best, best_hits, best_word = slug, len(hits), Counter(hits).most_common(1)[0][0]
    if best is None:
        return Guess(None, None)
    shown = next((w for w in re.findall(r"[a-z0-9]+", text.lower()) if _stem(w) == best_word), best_word)
    return Guess(best, f"mentions “{shown}”")


_cache: dict = {"key": None, "faqs": None, "categories": {}}
_cache_lock = threading.Lock()


def known(s: Session) -> tuple[dict[str, str], FaqNeighbours]:
    """The admin's categories and the FAQ phrasings, rebuilt when an FAQ or a category changes."""
    version = s.scalar(select(KnowledgeVersion.version).where(KnowledgeVersion.id == 1)) or 0
    categories = dict(s.execute(select(Category.slug, Category.name).order_by(Category.id)).all())
    key = (version, tuple(categories.items()))
    with _cache_lock:
        if _cache["key"] == key:
            return _cache["categories"], _cache["faqs"]
    rows = s.execute(select(FaqPhrasing.text, Faq.category, Faq.id).join(Faq, Faq.id == FaqPhrasing.faq_id)
                     .where(Faq.enabled.is_(True)).order_by(FaqPhrasing.id)).all()
    first = {}  # an FAQ is known by its first phrasing, its question
    for text, _, faq_id in rows:
        first.setdefault(faq_id, text)
    faqs = FaqNeighbours([(text, category, first[faq_id]) for text, category, faq_id in rows])
    with _cache_lock:
        _cache.update(key=key, faqs=faqs, categories=categories)
    return categories, faqs
