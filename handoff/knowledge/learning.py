"""The learning loop: questions the bot could not answer, grouped into suggested FAQs for admins.

Questions come from three places: FAQ searches the matcher answered "unknown" (recorded as they happen),
conversations handed off because the bot was unsure or kept misunderstanding, and tickets the bot opened
after a failed answer (both collected from their tables when an admin looks). In every case the question
learnt from is the one the bot failed on (the last search it did not answer), never the request for a
person, a greeting, a button, a form answer or gibberish around it (question_filter.py). Similar questions are
grouped with TF-IDF and cosine similarity; when an agent's reply solved one of the chats, that reply is
offered as a draft answer. Approving a suggestion creates an FAQ in the same transaction that closes its
questions, so the next customer who asks gets the answer; dismissed questions stay hidden, and the same
question asked again later is dismissed on arrival.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, exists, literal, select
from sqlalchemy.orm import Session

from handoff.db import session_scope
from handoff.errors import Conflict, ServiceError
from handoff.knowledge import faqs
from handoff.knowledge.matcher import normalize
from handoff.knowledge.question_filter import worth_learning
from handoff.models import Conversation, FaqQuery, Handoff, Message, Ticket, UnansweredQuestion, utcnow
from handoff.vectors import child

log = logging.getLogger("careregistry.learning")

# Handoffs that say the bot lacked an answer; a customer asking for a person or a bot crash does not.
LEARN_FROM_REASONS = ("low_confidence", "repeated_fallback")
# Two groups merge while their average TF-IDF cosine is at least this. Tried on 18 made-up unanswered
# questions (gift cards, opening hours, bitcoin, shipping to Canada, a store in Oslo...) with the demo
# FAQs as background: 0.2 to 0.35 all put each topic's rephrasings together without merging topics.
# TF-IDF cannot tell "buy a gift card" from "pay with a gift card"; an admin edits such a group.
SIMILARITY_THRESHOLD = 0.3
# Grouping is quadratic in memory; the newest questions matter most.
MAX_QUESTIONS = 2000
MAX_EXAMPLES = 8
GROUPING = "handoff.knowledge.grouping"  # the child process's module
GROUPING_TIMEOUT_SECONDS = 120  # 2,000 questions group in a few seconds


# --- collecting -------------------------------------------------------------------------------------


def record_search(text: str, result: dict, conversation_id: int | None) -> None:
    """Log one FAQ search; an "unknown" one also becomes an unanswered question."""
    top = (result.get("matches") or [None])[0]
    with session_scope() as s:
        query = FaqQuery(text=text[:1000], normalized=normalize(text)[:1000], decision=result["decision"],
                         faq_id=top["faq_id"] if top else None, score=top["score"] if top else None,
                         conversation_id=conversation_id)
        s.add(query)
        s.flush()
        if query.decision == "unknown":
            _add_question(s, text, "search", f"search:{query.id}", conversation_id)


def _add_question(s: Session, text: str, source: str, key: str, conversation_id: int | None,
                  created_at=None) -> None:
    text = " ".join(text.split())[:1000]
    normalized = normalize(text)[:1000]
    if not normalized or not worth_learning(text):
        return
    if conversation_id is not None and s.scalar(select(UnansweredQuestion.id).where(
            UnansweredQuestion.conversation_id == conversation_id,
            UnansweredQuestion.normalized == normalized).limit(1)):
        return  # the same chat already gave us this question (e.g. its search, then its handoff)
    dismissed = s.scalar(select(UnansweredQuestion.id).where(
        UnansweredQuestion.normalized == normalized, UnansweredQuestion.status == "dismissed").limit(1))
    s.add(UnansweredQuestion(text=text, normalized=normalized, source=source, source_key=key,
                             conversation_id=conversation_id, status="dismissed" if dismissed else "open",
                             created_at=created_at or utcnow()))


def _not_collected(prefix: str, id_column):
    key = literal(prefix) + cast(id_column, String)
    return ~exists(select(UnansweredQuestion.id).where(UnansweredQuestion.source_key == key))


def _failed_question(s: Session, conversation_id: int, before) -> str | None:
    """The question the bot failed on up to `before`: its last search that was not answered, else the
    customer's last typed message that is a question at all."""
    searched = s.scalars(select(FaqQuery.text).where(
        FaqQuery.conversation_id == conversation_id, FaqQuery.decision != "answer", FaqQuery.created_at <= before)
        .order_by(FaqQuery.id.desc()).limit(10))
    question = next((t for t in searched if worth_learning(t)), None)
    if question:
        return question
    texts = s.scalars(select(Message.text).where(
        Message.conversation_id == conversation_id, Message.sender == "customer", Message.created_at <= before)
        .order_by(Message.id.desc()).limit(10))
    return next((t for t in texts if worth_learning(t)), None)


def collect() -> int:
    """Add the questions of handoffs and tickets not collected yet; returns how many rows were looked at."""
    looked = 0
    with session_scope() as s:
        handoffs = s.scalars(select(Handoff).where(Handoff.reason.in_(LEARN_FROM_REASONS),
                                                   _not_collected("handoff:", Handoff.id))
                             .order_by(Handoff.id)).all()
        for h in handoffs:
            looked += 1
            question = _failed_question(s, h.conversation_id, h.created_at)
            if question:
                _add_question(s, question, "handoff", f"handoff:{h.id}", h.conversation_id, h.created_at)
        # Tickets the bot opened after a search it could not answer; escalated ones came from a handoff.
        # The description is a form answer in the customer's words for an agent; the search is the question.
        failed_before = exists(select(FaqQuery.id).where(FaqQuery.conversation_id == Ticket.conversation_id,
                                                         FaqQuery.decision != "answer",
                                                         FaqQuery.created_at <= Ticket.created_at))
        tickets = s.scalars(select(Ticket).where(Ticket.source == "bot", Ticket.escalated.is_(False),
                                                 Ticket.conversation_id.is_not(None), failed_before,
                                                 _not_collected("ticket:", Ticket.id))
                            .order_by(Ticket.id)).all()
        for t in tickets:
            looked += 1
            question = _failed_question(s, t.conversation_id, t.created_at)
            if question:
                _add_question(s, question, "ticket", f"ticket:{t.id}", t.conversation_id, t.created_at)
    return looked


# --- grouping ---------------------------------------------------------------------------------------


def group_texts(texts: list[str], background: list[str] = (), threshold: float = SIMILARITY_THRESHOLD
                ) -> list[list[int]]:
    """Indexes of `texts` in groups of similar questions, biggest group first (grouping.py).

    The clustering runs in a child process rather than importing scikit-learn here on an admin's first
    look: once imported it would stay in the worker for good (~90 MB), for a page opened now and then.
    Should the child fail, each question is its own suggestion and the log says why."""
    if len(texts) < 2:
        return [[i] for i in range(len(texts))]
    try:
        return child.run(GROUPING, (list(texts), list(background), threshold), GROUPING_TIMEOUT_SECONDS)
    except child.FitFailed as exc:
        log.error("question grouping failed questions=%s %s fix=%r; showing each question on its own",
                  len(texts), exc.cause, exc.fix)
        return [[i] for i in range(len(texts))]


# --- what admins see --------------------------------------------------------------------------------


@dataclass
class Suggestion:
    question_ids: list[int]
    examples: list[str]  # distinct phrasings, the most asked first
    asked: int  # in how many conversations (a question without one counts once)
    sources: dict[str, int]
    last_asked: object
    draft_answer: str | None = None
    draft_conversation_id: int | None = None

    @property
    def key(self) -> str:
        return "-".join(str(i) for i in sorted(self.question_ids))


def suggestions(limit: int = 50, answered=None) -> list[Suggestion]:
    """Open unanswered questions grouped into suggested FAQs, the most asked first. `answered(text)`:
    True when the knowledge base now answers that question (a new or edited FAQ); such questions are
    left out."""
    collect()
    with session_scope() as s:
        rows = s.execute(select(UnansweredQuestion.id, UnansweredQuestion.text, UnansweredQuestion.normalized,
                                UnansweredQuestion.source, UnansweredQuestion.conversation_id,
                                UnansweredQuestion.created_at)
                         .where(UnansweredQuestion.status == "open")
                         .order_by(UnansweredQuestion.id.desc()).limit(MAX_QUESTIONS)).all()
    if answered is not None:
        rows = [r for r in rows if not answered(r.text)]
    if not rows:
        return []
    result = []
    for group in group_texts([r.text for r in rows], faqs.all_phrasings()):
        members = [rows[i] for i in group]
        by_text: dict[str, list] = {}
        for r in members:
            by_text.setdefault(r.normalized, []).append(r)
        examples = [v[-1].text for v in sorted(by_text.values(), key=lambda v: (-len(v), v[0].id))]
        sources: dict[str, int] = {}
        for r in members:
            sources[r.source] = sources.get(r.source, 0) + 1
        asked = len({r.conversation_id if r.conversation_id is not None else f"q{r.id}" for r in members})
        result.append(Suggestion(question_ids=[r.id for r in members], examples=examples[:MAX_EXAMPLES],
                                 asked=asked, sources=sources, last_asked=max(r.created_at for r in members)))
    result.sort(key=lambda g: (-g.asked, -len(g.question_ids), g.question_ids[0]))
    result = result[:limit]
    _attach_drafts(result, rows)
    return result


def _attach_drafts(groups: list[Suggestion], rows) -> None:
    asked_at = {r.id: (r.conversation_id, r.created_at) for r in rows}
    wanted = {cid for g in groups for i in g.question_ids if (cid := asked_at[i][0]) is not None}
    if not wanted:
        return
    drafts = agent_replies(wanted)
    # An agent's reply answers the question before it, not a later one the same chat asked the bot.
    later: dict[int, list] = {}
    for cid, when in asked_at.values():
        if cid is not None:
            later.setdefault(cid, []).append(when)
    for g in groups:
        for i in g.question_ids:
            cid, when = asked_at[i]
            until = min((t for t in later.get(cid, []) if t > when), default=None)
            replies = [(text, at) for text, at in drafts.get(cid, [])
                       if at >= when and (until is None or at < until)]
            if replies:
                g.draft_answer = draft_from(replies)
                g.draft_conversation_id = cid
                break


def agent_replies(conversation_ids) -> dict[int, list[tuple[str, object]]]:
    """Agents' messages in those of these conversations an agent resolved: {conversation id: [(text, at)]}."""
    with session_scope() as s:
        resolved_note = exists(select(Message.id).where(
            Message.conversation_id == Conversation.id, Message.sender == "system",
            Message.text.endswith("marked this conversation as resolved.")))
        # A customer writing again reopens a resolved chat, so the note in the transcript counts too.
        resolved = set(s.scalars(select(Conversation.id).where(
            Conversation.id.in_(list(conversation_ids)),
            (Conversation.status == "resolved") | resolved_note)))
        out: dict[int, list] = {}
        if resolved:
            for cid, text, at in s.execute(select(Message.conversation_id, Message.text, Message.created_at)
                                           .where(Message.conversation_id.in_(resolved), Message.sender == "agent")
                                           .order_by(Message.id)):
                out.setdefault(cid, []).append((text, at))
        return out


def draft_from(replies: list[tuple[str, object]]) -> str:
    # Agents greet first and answer after; the longest message is nearly always the answer itself.
    return max(replies, key=lambda r: len(r[0]))[0]


def _open_questions(s: Session, question_ids) -> list[UnansweredQuestion]:
    ids = [int(i) for i in question_ids or []]
    if not ids:
        raise ServiceError("Pick a suggestion first.")
    questions = s.scalars(select(UnansweredQuestion).where(UnansweredQuestion.id.in_(ids),
                                                           UnansweredQuestion.status == "open")).all()
    if not questions:
        raise Conflict("Someone has already approved or dismissed these questions.")
    return list(questions)


def approve(question_ids, phrasings, answer, category) -> dict:
    """Create an FAQ from a suggestion; the bot answers with it as soon as this commits."""
    with session_scope() as s:
        questions = _open_questions(s, question_ids)
        faq = faqs.add_faq(s, answer, category, phrasings)
        now = utcnow()
        for q in questions:
            q.status, q.faq_id, q.reviewed_at = "approved", faq.id, now
        result = faqs.faq_dict(faq)
    log.info("suggestion approved questions=%s faq=%s", len(questions), result["id"])
    return result


def dismiss(question_ids) -> int:
    with session_scope() as s:
        questions = _open_questions(s, question_ids)
        now = utcnow()
        for q in questions:
            q.status, q.reviewed_at = "dismissed", now
        # The same question already waiting elsewhere (another group, another chat) goes too.
        texts = {q.normalized for q in questions}
        for other in s.scalars(select(UnansweredQuestion).where(
                and_(UnansweredQuestion.status == "open", UnansweredQuestion.normalized.in_(texts)))):
            other.status, other.reviewed_at = "dismissed", now
    log.info("suggestion dismissed questions=%s", len(questions))
    return len(questions)
