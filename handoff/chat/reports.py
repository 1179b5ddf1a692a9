"""The desk's numbers over a period, for the admin's dashboard and its CSV export.

Per day: conversations (by the day the customer wrote) and tickets opened; containment and handoff reasons
(from knowledge/analytics, so both pages agree); first response and resolution times of chats and
tickets (median and 90th percentile); satisfaction (chat and ticket ratings); each agent's load, response
time and rating; the busiest hours (UTC weekday and hour; the page shifts them to the reader's zone).
A `category` narrows the ticket figures; an `agent` narrows everything handled by people.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import func, select

from handoff.db import session_scope
from handoff.knowledge import analytics
from handoff.knowledge.analytics import Period
from handoff.models import Agent, Conversation, Handoff, Message, Ticket, TicketEvent
from handoff.routing import catalog


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-1) by linear interpolation; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low), 1)


def _spread(seconds: list[float]) -> dict:
    return {"median": percentile(seconds, 0.5), "p90": percentile(seconds, 0.9), "count": len(seconds)}


def _days(p: Period) -> list[str]:
    return [(p.since + timedelta(days=i)).isoformat() for i in range((p.until - p.since).days + 1)]


def report(p: Period, category: str | None = None, agent_id: int | None = None) -> dict:
    start, end = p.start, p.end
    days = _days(p)
    bot = analytics.report(p)
    with session_scope() as s:
        # Conversations per day: a conversation counts on each day its customer wrote in it.
        per_day = dict.fromkeys(days, 0)
        day_of = func.date(Message.created_at)
        for day, n in s.execute(select(day_of, func.count(func.distinct(Message.conversation_id)))
                                .where(Message.sender == "customer", Message.created_at >= start,
                                       Message.created_at < end).group_by(day_of)):
            if str(day) in per_day:
                per_day[str(day)] = n

        ticket_filter = [Ticket.created_at >= start, Ticket.created_at < end]
        if category:
            ticket_filter.append(Ticket.category == category)
        if agent_id:
            ticket_filter.append(Ticket.assignee_id == agent_id)
        tickets = s.scalars(select(Ticket).where(*ticket_filter)).all()
        tickets_per_day = dict.fromkeys(days, 0)
        for t in tickets:
            key = t.created_at.date().isoformat()
            if key in tickets_per_day:
                tickets_per_day[key] += 1

        # Chats people answered: from the handoff to the first agent message, and to the agent's resolve.
        handoff_filter = [Handoff.created_at >= start, Handoff.created_at < end, Handoff.outcome == "queued"]
        if agent_id:
            handoff_filter.append(Handoff.agent_id == agent_id)
        handoffs = s.execute(select(Handoff.conversation_id, Handoff.created_at, Handoff.agent_id)
                             .where(*handoff_filter)).all()
        chat_first, chat_resolve = [], []
        agent_first: dict[int, list[float]] = {}
        for cid, at, aid in handoffs:
            first = s.scalar(select(func.min(Message.created_at)).where(
                Message.conversation_id == cid, Message.sender == "agent", Message.created_at >= at))
            if first is not None:
                chat_first.append((first - at).total_seconds())
                if aid:
                    agent_first.setdefault(aid, []).append((first - at).total_seconds())
            resolved = s.scalar(select(Conversation.resolved_at).where(Conversation.id == cid))
            if resolved is not None and resolved >= at:
                chat_resolve.append((resolved - at).total_seconds())

        ticket_first, ticket_resolve = [], []
        for t in tickets:
            reply = s.scalar(select(func.min(TicketEvent.created_at)).where(
                TicketEvent.ticket_id == t.id, TicketEvent.kind == "reply", TicketEvent.actor != "customer"))
            if reply is not None:
                ticket_first.append((reply - t.created_at).total_seconds())
            done = s.scalar(select(func.min(TicketEvent.created_at)).where(
                TicketEvent.ticket_id == t.id, TicketEvent.kind == "status_changed",
                TicketEvent.data["new"].as_string().in_(("resolved", "closed"))))
            if done is not None:
                ticket_resolve.append((done - t.created_at).total_seconds())

        # Satisfaction: chat ratings by the day given, ticket ratings by the ticket's day.
        rating_filter = [Conversation.rated_at >= start, Conversation.rated_at < end]
        if agent_id:
            rating_filter.append(Conversation.agent_id == agent_id)
        chat_ratings = s.execute(select(Conversation.rated_at, Conversation.rating, Conversation.agent_id)
                                 .where(*rating_filter)).all()
        scores_by_day: dict[str, list[int]] = {d: [] for d in days}
        for at, score, _aid in chat_ratings:
            scores_by_day.setdefault(at.date().isoformat(), []).append(score)
        for t in tickets:
            if t.rating:
                scores_by_day.setdefault(t.created_at.date().isoformat(), []).append(t.rating)
        all_scores = [x for d in days for x in scores_by_day.get(d, [])]

        # Per agent: chats now open, chats taken in the period, open tickets, response time, rating.
        agents = s.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)).all()
        open_chats = dict(s.execute(select(Conversation.agent_id, func.count()).where(Conversation.status == "agent")
                                    .group_by(Conversation.agent_id)).all())
        taken = dict(s.execute(select(Handoff.agent_id, func.count()).where(
            Handoff.created_at >= start, Handoff.created_at < end, Handoff.agent_id.is_not(None))
            .group_by(Handoff.agent_id)).all())
        open_tickets = dict(s.execute(select(Ticket.assignee_id, func.count()).where(
            Ticket.status.in_(("new", "open", "pending"))).group_by(Ticket.assignee_id)).all())
        agent_scores: dict[int, list[int]] = {}
        for _at, score, aid in chat_ratings:
            if aid:
                agent_scores.setdefault(aid, []).append(score)
        per_agent = [{"id": a.id, "name": a.name, "open_chats": open_chats.get(a.id, 0),
                      "chats_taken": taken.get(a.id, 0), "open_tickets": open_tickets.get(a.id, 0),
                      "first_response_median": percentile(agent_first.get(a.id, []), 0.5),
                      "rating": round(sum(agent_scores[a.id]) / len(agent_scores[a.id]), 2)
                      if agent_scores.get(a.id) else None, "ratings": len(agent_scores.get(a.id, []))}
                     for a in agents if not agent_id or a.id == agent_id]

        # Busiest hours: customers' messages by weekday (Monday 0) and hour, UTC.
        heat = [[0] * 24 for _ in range(7)]
        for (at,) in s.execute(select(Message.created_at).where(
                Message.sender == "customer", Message.created_at >= start, Message.created_at < end)):
            heat[at.weekday()][at.hour] += 1
    return {
        "since": p.since.isoformat(), "until": p.until.isoformat(), "category": category, "agent_id": agent_id,
        "days": days,
        "conversations_per_day": [per_day[d] for d in days],
        "tickets_per_day": [tickets_per_day[d] for d in days],
        "conversations": bot["conversations"], "tickets": len(tickets),
        "containment_rate": bot["containment_rate"], "contained": bot["contained"], "handed_off": bot["handed_off"],
        "handoff_reasons": bot["handoff_reasons"],
        "times": {"chat_first_response": _spread(chat_first), "chat_resolution": _spread(chat_resolve),
                  "ticket_first_response": _spread(ticket_first), "ticket_resolution": _spread(ticket_resolve)},
        "csat_per_day": [round(sum(scores_by_day[d]) / len(scores_by_day[d]), 2) if scores_by_day.get(d) else None
                         for d in days],
        "csat": {"average": round(sum(all_scores) / len(all_scores), 2) if all_scores else None,
                 "satisfied_share": round(sum(x >= 4 for x in all_scores) / len(all_scores), 4) if all_scores
                 else None, "count": len(all_scores)},
        "agents": per_agent,
        "busiest_hours_utc": heat,
        "categories": list(catalog.slugs()),
    }


def to_csv(r: dict) -> str:
    """One file a spreadsheet opens: a section per figure, each a header row then its rows."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["period", r["since"], r["until"], "category", r["category"] or "all", "agent", r["agent_id"] or "all"])
    w.writerow([])
    w.writerow(["day", "conversations", "tickets", "average rating"])
    for i, day in enumerate(r["days"]):
        w.writerow([day, r["conversations_per_day"][i], r["tickets_per_day"][i],
                    "" if r["csat_per_day"][i] is None else r["csat_per_day"][i]])
    w.writerow([])
    w.writerow(["containment rate", "" if r["containment_rate"] is None else r["containment_rate"]])
    w.writerow(["handoff reason", "count"])
    for reason, n in r["handoff_reasons"].items():
        w.writerow([reason, n])
    w.writerow([])
    w.writerow(["time (seconds)", "median", "p90", "count"])
    for name, spread in r["times"].items():
        w.writerow([name, _blank(spread["median"]), _blank(spread["p90"]), spread["count"]])
    w.writerow([])
    w.writerow(["agent", "open chats", "chats taken", "open tickets", "first response median (s)", "average rating"])
    for a in r["agents"]:
        w.writerow([a["name"], a["open_chats"], a["chats_taken"], a["open_tickets"], _blank(a["first_response_median"]),
                    _blank(a["rating"])])
    w.writerow([])
    w.writerow(["weekday (UTC)"] + [f"{h:02d}:00" for h in range(24)])
    for i, row in enumerate(r["busiest_hours_utc"]):
        w.writerow([("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[i]] + row)
    return out.getvalue()


def _blank(value):
    return "" if value is None else value


