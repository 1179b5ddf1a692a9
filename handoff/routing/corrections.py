"""Agents' verdicts on a triage: one row per ticket or chat, the latest click winning, which trains the
organisation's model (triage_model.py). A confirmation ("the prediction is right") is a correction to
the same values: without those, every held-out item would be one the cues got wrong."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.errors import ServiceError
from handoff.models import PRIORITIES, TriageCorrection, utcnow
from handoff.routing import catalog

log = logging.getLogger("careregistry.routing")
MAX_TEXT = 4000  # what the model reads of an item: its first lines say what it is about


def check(s: Session, priority, category, confirm: bool) -> tuple[str | None, str | None]:
    """The cleaned choice: a known priority and/or category, or a confirmation; else a clear refusal."""
    priority = priority or None
    category = category or None
    if priority is not None and priority not in PRIORITIES:
        raise ServiceError(f"Unknown priority; use one of: {', '.join(PRIORITIES)}.")
    if category is not None:
        catalog.require_category(category, s)
    if priority is None and category is None and not confirm:
        raise ServiceError("Choose a priority or a category, or confirm the prediction.")
    return priority, category


def record(s: Session, *, kind: str, item_id: int, text: str, triage: dict | None, priority: str,
           category: str | None, agent_id: int | None) -> TriageCorrection:
    """Record that the item's right priority and category are these (after the agent's click)."""
    triage = triage or {}
    cues = triage.get("cues") or {}
    row = s.scalar(select(TriageCorrection).where(TriageCorrection.item_kind == kind,
                                                  TriageCorrection.item_id == item_id))
    if row is None:
        row = TriageCorrection(item_kind=kind, item_id=item_id,
                               predicted_priority=triage.get("priority") or priority,
                               predicted_category=triage.get("category"),
                               cue_priority=cues.get("priority") or triage.get("priority") or priority,
                               cue_category=cues.get("category", triage.get("category")))
        s.add(row)
    row.text = (text or "")[:MAX_TEXT]
    row.corrected_priority, row.corrected_category = priority, category
    row.agent_id, row.created_at = agent_id, utcnow()
    s.flush()
    log.info("triage corrected kind=%s item=%s predicted_priority=%s priority=%s predicted_category=%s "
             "category=%s agent=%s", kind, item_id, row.predicted_priority, priority, row.predicted_category,
             category, agent_id)
    return row

