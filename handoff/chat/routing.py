"""Which online agent suits a queued conversation best.

Every online agent sees the whole queue and the first to accept wins; routing adds a suggestion: the
conversation's topic (the category of the FAQ the bot last matched for it) and the online, active agent
under capacity whose skills cover that topic and who has the fewest open chats.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.models import Agent, Conversation, Faq, FaqQuery


def topics(s: Session, conversation_ids: list[int]) -> dict[int, str]:
    """The category of the last FAQ matched in each conversation (any decision), if any."""
    if not conversation_ids:
        return {}
    last = (select(FaqQuery.conversation_id, func.max(FaqQuery.id).label("qid"))
            .where(FaqQuery.conversation_id.in_(conversation_ids), FaqQuery.faq_id.is_not(None))
            .group_by(FaqQuery.conversation_id).subquery())
    rows = s.execute(select(last.c.conversation_id, Faq.category)
                     .join(FaqQuery, FaqQuery.id == last.c.qid).join(Faq, Faq.id == FaqQuery.faq_id)).all()
    return dict(rows)


def candidates(s: Session) -> list[dict]:
    """Online, active agents with room for another chat, least busy first."""
    open_chats = dict(s.execute(select(Conversation.agent_id, func.count()).where(Conversation.status == "agent")
                                .group_by(Conversation.agent_id)).all())
    agents = s.scalars(select(Agent).where(Agent.active.is_(True), Agent.connections > 0)).all()
    ready = [{"id": a.id, "name": a.name, "skills": set(a.skills or []), "open": open_chats.get(a.id, 0)}
             for a in agents if open_chats.get(a.id, 0) < (a.capacity or 1)]
    return sorted(ready, key=lambda a: (a["open"], a["id"]))


def best_agent(topic: str | None, ready: list[dict]) -> dict | None:
    if not ready:
        return None
    skilled = [a for a in ready if topic and topic in a["skills"]]
    return (skilled or ready)[0]
