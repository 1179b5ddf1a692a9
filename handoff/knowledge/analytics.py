"""How the bot does over a period: containment, fallbacks, why it handed off, what customers ask.

A conversation counts for a period when its customer wrote in it then (visitors keep one conversation
for a long time, so its creation date says little); it was *contained* when it had no handoff in the
period. Searches come from the FAQ search log (`FaqQuery`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import distinct, func, select

from handoff.db import session_scope
from handoff.errors import ServiceError
from handoff.models import HANDOFF_REASONS, Faq, FaqQuery, Handoff, Message, utcnow

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    since: date  # first day, inclusive
    until: date  # last day, inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, datetime.min.time())

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.until + timedelta(days=1), datetime.min.time())


def period(since: str | None = None, until: str | None = None, today: date | None = None) -> Period:
    """The days from `since` to `until` (YYYY-MM-DD, both included); by default the last 30 days."""
    def parse(value: str | None, what: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ServiceError(f"The {what} date must be written YYYY-MM-DD.") from None

    last = parse(until, "end") or today or utcnow().date()
    first = parse(since, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ServiceError("The start date is after the end date.")
    return Period(first, last)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def report(p: Period, top: int = 10) -> dict:
    start, end = p.start, p.end
    with session_scope() as s:
        active = (select(Message.conversation_id).distinct()
                  .where(Message.sender == "customer", Message.created_at >= start, Message.created_at < end))
        in_period = (Handoff.created_at >= start, Handoff.created_at < end)
        conversations = s.scalar(select(func.count()).select_from(active.subquery())) or 0
        handed_off = s.scalar(select(func.count(distinct(Handoff.conversation_id)))
                              .where(*in_period, Handoff.conversation_id.in_(active))) or 0
        reasons = dict.fromkeys(HANDOFF_REASONS, 0)
        for reason, n in s.execute(select(Handoff.reason, func.count()).where(*in_period).group_by(Handoff.reason)):
            reasons[reason] = n

        searched = (FaqQuery.created_at >= start, FaqQuery.created_at < end)
        decisions = {"answer": 0, "choose": 0, "unknown": 0}
        for decision, n in s.execute(select(FaqQuery.decision, func.count()).where(*searched)
                                     .group_by(FaqQuery.decision)):
            decisions[decision] = n
        searches = sum(decisions.values())

        n_answered = func.count().label("n")
        asked = s.execute(select(FaqQuery.faq_id, n_answered)
                          .where(*searched, FaqQuery.decision == "answer", FaqQuery.faq_id.is_not(None))
                          .group_by(FaqQuery.faq_id).order_by(n_answered.desc(), FaqQuery.faq_id).limit(top)).all()
        faqs = {f.id: f for f in s.scalars(select(Faq).where(Faq.id.in_([a.faq_id for a in asked])))}
        most_asked = [{"faq_id": a.faq_id, "count": a.n,
                       "question": (faqs[a.faq_id].phrasings[0].text if faqs[a.faq_id].phrasings
                                    else faqs[a.faq_id].slug) if a.faq_id in faqs else None,
                       "slug": faqs[a.faq_id].slug if a.faq_id in faqs else None}
                      for a in asked]

        n_unknown = func.count().label("n")
        unknown = s.execute(select(FaqQuery.normalized, func.max(FaqQuery.text).label("example"), n_unknown)
                            .where(*searched, FaqQuery.decision == "unknown")
                            .group_by(FaqQuery.normalized).order_by(n_unknown.desc(), FaqQuery.normalized)
                            .limit(top)).all()
    return {
        "since": p.since.isoformat(),
        "until": p.until.isoformat(),
        "conversations": conversations,
        "contained": conversations - handed_off,
        "handed_off": handed_off,
        "containment_rate": _rate(conversations - handed_off, conversations),
        "searches": searches,
        "decisions": decisions,
        "fallback_rate": _rate(decisions["unknown"], searches),
        "repeated_fallback_handoffs": reasons.get("repeated_fallback", 0),
        "handoff_reasons": reasons,
        "handoffs": sum(reasons.values()),
        "most_asked": most_asked,
        "most_unanswered": [{"question": u.example, "count": u.n} for u in unknown],
    }
