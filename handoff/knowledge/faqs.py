"""The FAQ store: answers, their phrasings and categories, CSV import and export.

FAQs live in the database, so an admin's edit reaches the bot without retraining Rasa: every change bumps
`KnowledgeVersion`, and each process rebuilds its index (`index.py`) when it sees a newer version.
"""
from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from handoff.db import get_or_raise, session_scope
from handoff.errors import NotFound, ServiceError, clean_text
from handoff.models import Faq, FaqPhrasing, KnowledgeVersion
from handoff.routing import catalog

from .matcher import normalize

log = logging.getLogger("careregistry.knowledge")


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


def all_phrasings() -> list[str]:
    with session_scope() as s:
        return list(s.scalars(select(FaqPhrasing.text)))


def count() -> int:
    with session_scope() as s:
        return len(s.scalars(select(Faq.id)).all())


# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...) runs when opened).
_FORMULA_START = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_GUARDED = re.compile("^'+[" + re.escape("".join(_FORMULA_START)) + "]")


def _guard(cell: str) -> str:
    """Export: a leading apostrophe makes a spreadsheet show the cell as text; it is hidden there.

    Cells that already start with apostrophes before such a character get one more, so `_unguard`
    gives every cell back exactly.
    """
    return "'" + cell if cell.startswith(_FORMULA_START) or _GUARDED.match(cell) else cell


def _unguard(cell: str | None) -> str:
    """Import: undo `_guard` (also a spreadsheet user's own '=... meant as text)."""
    cell = cell or ""
    return cell[1:] if _GUARDED.match(cell) else cell


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError(f"{path.name}: missing column(s) {', '.join(missing)}; expected {','.join(columns)}.")
        return [(reader.line_num, {k: _unguard(v.strip()) if isinstance(v, str) else v for k, v in row.items()})
                for row in reader]


def import_csv(answers_path: Path, questions_path: Path) -> tuple[int, int]:
    """Load `answer_id,answer,category` and `question,answer_id` files; all or nothing.

    Rows naming an existing answer_id replace that FAQ's answer and phrasings. An optional `enabled`
    column (1/0, as the export writes it) keeps disabled FAQs disabled; without it every FAQ is enabled.
    """
    answers = _read_csv(Path(answers_path), ("answer_id", "answer", "category"))
    questions = _read_csv(Path(questions_path), ("question", "answer_id"))
    problems: list[str] = []
    by_slug: dict[str, dict] = {}
    known = catalog.slugs()
    for line, row in answers:
        slug, category = (row["answer_id"] or "").strip(), (row["category"] or "").strip().lower()
        if not slug or not (row["answer"] or "").strip():
            problems.append(f"{Path(answers_path).name} line {line}: answer_id and answer are required")
        elif category not in known:
            problems.append(f"{Path(answers_path).name} line {line}: unknown category '{category}'")
        elif (enabled := _parse_enabled(row.get("enabled"))) is None:
            problems.append(f"{Path(answers_path).name} line {line}: enabled must be 1 or 0")
        else:
            by_slug[slug] = {"answer": row["answer"].strip(), "category": category, "questions": [],
                             "enabled": enabled}
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
            faq.answer, faq.category, faq.enabled = data["answer"], data["category"], data["enabled"]
            faq.phrasings = [FaqPhrasing(text=q) for q in data["questions"]]
            s.add(faq)
        bump_version(s)
    return len(by_slug), sum(len(d["questions"]) for d in by_slug.values())


def _parse_enabled(value: str | None) -> bool | None:
    value = (value or "").strip().lower()
    if value in ("", "1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return None


def export_csv() -> tuple[str, str]:
    """Every FAQ as the two import files: (`answer_id,answer,category,enabled`, `question,answer_id`)."""
    answers, questions = io.StringIO(), io.StringIO()
    a, q = csv.writer(answers, lineterminator="\n"), csv.writer(questions, lineterminator="\n")
    a.writerow(("answer_id", "answer", "category", "enabled"))
    q.writerow(("question", "answer_id"))
    with session_scope() as s:
        for f in s.scalars(select(Faq).options(selectinload(Faq.phrasings)).order_by(Faq.id)):
            a.writerow((_guard(f.slug), _guard(f.answer), _guard(f.category), 1 if f.enabled else 0))
            q.writerows((_guard(p.text), _guard(f.slug)) for p in f.phrasings)
    return answers.getvalue(), questions.getvalue()


# --- editing FAQs one by one (the admin pages) --------------------------------------------------------

MAX_ANSWER = 4000
MAX_PHRASINGS = 100
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


def faq_dict(f: Faq) -> dict:
    return {"id": f.id, "slug": f.slug, "answer": f.answer, "category": f.category, "enabled": f.enabled,
            "phrasings": [p.text for p in f.phrasings], "updated_at": f.updated_at}


def list_faqs(q: str | None = None, category: str | None = None) -> list[dict]:
    """Every FAQ, enabled or not; `q` searches the id, the answer and the phrasings."""
    query = select(Faq).options(selectinload(Faq.phrasings)).order_by(Faq.category, Faq.slug)
    if q and q.strip():
        term = q.strip()[:200]
        query = query.where(or_(Faq.slug.icontains(term, autoescape=True),
                                Faq.answer.icontains(term, autoescape=True),
                                Faq.phrasings.any(FaqPhrasing.text.icontains(term, autoescape=True))))
    if category:
        query = query.where(Faq.category == category)
    with session_scope() as s:
        return [faq_dict(f) for f in s.scalars(query)]


def faq_for_admin(faq_id: int) -> dict:
    with session_scope() as s:
        return faq_dict(_faq(s, faq_id))


def _faq(s: Session, faq_id: int) -> Faq:
    return get_or_raise(s, Faq, faq_id, "There is no such FAQ.")


def clean_phrasings(phrasings) -> list[str]:
    """Non-empty, at most 500 characters each, duplicates (ignoring case) dropped, order kept."""
    seen, out = set(), []
    for text in phrasings or []:
        text = " ".join(str(text).split())
        if not text or text.lower() in seen:
            continue
        if len(text) > 500:
            raise ServiceError(f"A question may have at most 500 characters: '{text[:40]}...' has {len(text)}.")
        seen.add(text.lower())
        out.append(text)
    if not out:
        raise ServiceError("Give at least one way a customer might ask the question.")
    if len(out) > MAX_PHRASINGS:
        raise ServiceError(f"An FAQ can have at most {MAX_PHRASINGS} phrasings.")
    return out


def _clean_fields(answer, category) -> tuple[str, str]:
    answer = clean_text(answer, MAX_ANSWER, "answer")
    if category not in (known := catalog.slugs()):
        raise ServiceError(f"Pick a category: {', '.join(known)}.")
    return answer, category


def _free_slug(s: Session, wanted: str | None, phrasings: list[str], own_id: int | None = None) -> str:
    if wanted and wanted.strip():
        slug = wanted.strip().lower()
        if not _SLUG.match(slug):
            raise ServiceError("The answer id may only have lowercase letters, digits and '-', at most 80.")
        taken = s.scalar(select(Faq.id).where(Faq.slug == slug))
        if taken is not None and taken != own_id:
            raise ServiceError(f"The answer id '{slug}' is already used by another FAQ.")
        return slug
    base = "-".join(normalize(phrasings[0]).split()[:8])[:60].strip("-") or "faq"
    slug, n = base, 1
    while s.scalar(select(Faq.id).where(Faq.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def add_faq(s: Session, answer, category, phrasings, slug: str | None = None, enabled: bool = True) -> Faq:
    """Create an FAQ inside the caller's transaction, bumping the version so every index rebuilds."""
    answer, category = _clean_fields(answer, category)
    phrasings = clean_phrasings(phrasings)
    faq = Faq(slug=_free_slug(s, slug, phrasings), answer=answer, category=category, enabled=enabled,
              phrasings=[FaqPhrasing(text=t) for t in phrasings])
    s.add(faq)
    bump_version(s)
    s.flush()
    log.info("faq created id=%s slug=%s phrasings=%s", faq.id, faq.slug, len(phrasings))
    return faq


def create_faq(answer, category, phrasings, slug: str | None = None, enabled: bool = True) -> dict:
    with session_scope() as s:
        return faq_dict(add_faq(s, answer, category, phrasings, slug, enabled))


def update_faq(faq_id: int, answer, category, phrasings, slug: str | None = None,
               enabled: bool | None = None) -> dict:
    answer, category = _clean_fields(answer, category)
    phrasings = clean_phrasings(phrasings)
    with session_scope() as s:
        faq = _faq(s, faq_id)
        faq.slug = _free_slug(s, slug, phrasings, own_id=faq.id) if slug and slug.strip() else faq.slug
        faq.answer, faq.category = answer, category
        if enabled is not None:
            faq.enabled = enabled
        kept = {p.text: p for p in faq.phrasings}
        faq.phrasings = [kept.get(t) or FaqPhrasing(text=t) for t in phrasings]
        bump_version(s)
        s.flush()
        log.info("faq updated id=%s phrasings=%s", faq.id, len(phrasings))
        return faq_dict(faq)


def set_enabled(faq_id: int, enabled: bool) -> dict:
    with session_scope() as s:
        faq = _faq(s, faq_id)
        faq.enabled = enabled
        bump_version(s)
        log.info("faq %s id=%s", "enabled" if enabled else "disabled", faq.id)
        return faq_dict(faq)


def delete_faq(faq_id: int) -> str:
    """Delete an FAQ and its phrasings; returns the id customers' CSVs knew it by."""
    with session_scope() as s:
        faq = _faq(s, faq_id)
        slug = faq.slug
        s.delete(faq)
        bump_version(s)
    log.info("faq deleted id=%s slug=%s", faq_id, slug)
    return slug
