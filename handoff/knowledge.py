"""The FAQ store and the in-process search index built from it.

FAQs live in the database, so an admin's edit reaches the bot without retraining Rasa: every change bumps
`KnowledgeVersion`, and each process rebuilds its index when it sees a newer version.
"""
from __future__ import annotations

import csv
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .db import session_scope
from .errors import NotFound, ServiceError, clean_text
from .faq_matcher import FaqMatcher
from .models import CATEGORIES, Faq, FaqPhrasing, KnowledgeVersion

log = logging.getLogger("careregistry.knowledge")


@dataclass(frozen=True)
class _Entry:
    question: str
    answer: str
    category: str


class KnowledgeIndex:
    def __init__(self, answer_threshold: float | None = None, choose_threshold: float | None = None):
        self._thresholds = {k: v for k, v in (("answer_threshold", answer_threshold),
                                              ("choose_threshold", choose_threshold))
                            if v is not None and v >= 0}
        self._lock = threading.Lock()
        self._version = -1
        self._matcher = FaqMatcher(**self._thresholds)
        self._entries: dict[int, _Entry] = {}

    def _fresh(self) -> tuple[FaqMatcher, dict[int, _Entry]]:
        with session_scope() as s:
            version = current_version(s)
        if version != self._version:
            with self._lock:
                if version != self._version:
                    self._rebuild(version)
        return self._matcher, self._entries

    def _rebuild(self, version: int) -> None:
        with session_scope() as s:
            faqs = s.scalars(select(Faq).where(Faq.enabled.is_(True)).options(selectinload(Faq.phrasings))).all()
            entries = {f.id: _Entry(f.phrasings[0].text if f.phrasings else f.slug, f.answer, f.category)
                       for f in faqs}
            pairs = [(f.id, p.text) for f in faqs for p in f.phrasings]
        matcher = FaqMatcher(**self._thresholds).fit(pairs)
        self._matcher, self._entries, self._version = matcher, entries, version
        log.info("faq index rebuilt version=%s faqs=%s phrasings=%s", version, len(entries), len(pairs))

    def search(self, text, limit: int = 3) -> dict:
        text = clean_text(text, 1000, "question")
        matcher, entries = self._fresh()
        matches = [m for m in matcher.search(text, limit=limit) if m.faq_id in entries]
        return {
            "decision": matcher.decide(matches),
            "matches": [{"faq_id": m.faq_id, "question": entries[m.faq_id].question,
                         "answer": entries[m.faq_id].answer, "score": round(float(m.score), 4)}
                        for m in matches],
        }


def current_version(s: Session) -> int:
    row = s.get(KnowledgeVersion, 1)
    return row.version if row else 0


def bump_version(s: Session) -> None:
    row = s.get(KnowledgeVersion, 1)
    if row is None:
        s.add(KnowledgeVersion(id=1, version=1))
    else:
        row.version += 1


def get_faq(faq_id: int) -> dict:
    with session_scope() as s:
        f = s.get(Faq, faq_id)
        if f is None or not f.enabled:
            raise NotFound("There is no such FAQ.")
        question = f.phrasings[0].text if f.phrasings else f.slug
        return {"faq_id": f.id, "question": question, "answer": f.answer, "category": f.category}


def count() -> int:
    with session_scope() as s:
        return len(s.scalars(select(Faq.id)).all())


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError(f"{path.name}: missing column(s) {', '.join(missing)}; expected {','.join(columns)}.")
        return [(reader.line_num, row) for row in reader]


def import_csv(answers_path: Path, questions_path: Path) -> tuple[int, int]:
    """Load `answer_id,answer,category` and `question,answer_id` files; all or nothing.

    Rows naming an existing answer_id replace that FAQ's answer and phrasings.
    """
    answers = _read_csv(Path(answers_path), ("answer_id", "answer", "category"))
    questions = _read_csv(Path(questions_path), ("question", "answer_id"))
    problems: list[str] = []
    by_slug: dict[str, dict] = {}
    for line, row in answers:
        slug, category = (row["answer_id"] or "").strip(), (row["category"] or "").strip().lower()
        if not slug or not (row["answer"] or "").strip():
            problems.append(f"{Path(answers_path).name} line {line}: answer_id and answer are required")
        elif category not in CATEGORIES:
            problems.append(f"{Path(answers_path).name} line {line}: unknown category '{category}'")
        else:
            by_slug[slug] = {"answer": row["answer"].strip(), "category": category, "questions": []}
    for line, row in questions:
        slug, text = (row["answer_id"] or "").strip(), (row["question"] or "").strip()
        if slug not in by_slug:
            problems.append(f"{Path(questions_path).name} line {line}: unknown answer_id '{slug}'")
        elif not text or len(text) > 500:
            problems.append(f"{Path(questions_path).name} line {line}: question must be 1 to 500 characters")
        else:
            by_slug[slug]["questions"].append(text)
    if problems:
        raise ServiceError("Nothing was imported:\n" + "\n".join(problems))
    with session_scope() as s:
        for slug, data in by_slug.items():
            faq = s.scalar(select(Faq).where(Faq.slug == slug)) or Faq(slug=slug)
            faq.answer, faq.category, faq.enabled = data["answer"], data["category"], True
            faq.phrasings = [FaqPhrasing(text=q) for q in data["questions"]]
            s.add(faq)
        bump_version(s)
    return len(by_slug), sum(len(d["questions"]) for d in by_slug.values())
