"""The chat queue as customers see it: their place in line and how long it may take.

The order is the routing order (selector.queue_key): taken back from an offline agent first, then by
the nearest SLA due time, then by priority, then by waiting time. The estimate divides the place in line by the desk's recent pace (chats
that reached an agent in the last hour); with no pace yet, or nobody online, there is no estimate.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.models import Conversation, Faq, FaqQuery
from handoff.routing import sla
from handoff.routing.selector import queue_key

PACE_WINDOW = timedelta(hours=1)
MIN_PACE_SAMPLES = 3


def waiting(s: Session) -> list[Conversation]:
    """Every queued chat, offered or not, in routing order."""
    rows = s.scalars(select(Conversation).where(Conversation.status == "queued")).all()
    return sorted(rows, key=lambda c: (queue_key(c.first_in_line, c.priority, c.queued_at, sla.nearest_due(c.sla)),
                                       c.id))


def _line(s: Session) -> list[int]:
    """The ids of every queued chat in routing order: waiting()'s order read off five columns, without an
    ORM object per waiting chat (each handoff and each positions pass reads the whole line)."""
    rows = s.execute(select(Conversation.id, Conversation.first_in_line, Conversation.priority,
                            Conversation.queued_at, Conversation.sla)
                     .where(Conversation.status == "queued")).all()
    return [r.id for r in sorted(rows, key=lambda r: (queue_key(r.first_in_line, r.priority, r.queued_at,
                                                                 sla.nearest_due(r.sla)), r.id))]


def positions(s: Session, now: datetime, agents_online: int) -> dict[int, dict]:
    """conversation id -> {"position", "estimated_wait_s"} for every queued chat."""
    line = _line(s)
    if not line:
        return {}
    served = s.scalar(select(func.count()).select_from(Conversation)
                      .where(Conversation.assigned_at >= now - PACE_WINDOW)) or 0
    per_chat = PACE_WINDOW.total_seconds() / served if served >= MIN_PACE_SAMPLES and agents_online else None
    return {cid: {"position": i, "estimated_wait_s": None if per_chat is None else math.ceil(i * per_chat)}
            for i, cid in enumerate(line, start=1)}


def topics(s: Session, conversation_ids: list[int]) -> dict[int, str]:
    """The category of the last FAQ the bot matched in each conversation (any decision), if any."""
    if not conversation_ids:
        return {}
    last = (select(FaqQuery.conversation_id, func.max(FaqQuery.id).label("qid"))
            .where(FaqQuery.conversation_id.in_(conversation_ids), FaqQuery.faq_id.is_not(None))
            .group_by(FaqQuery.conversation_id).subquery())
    rows = s.execute(select(last.c.conversation_id, Faq.category)
                     .join(FaqQuery, FaqQuery.id == last.c.qid).join(Faq, Faq.id == FaqQuery.faq_id)).all()
    return dict(rows)
