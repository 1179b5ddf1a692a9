"""Chats move by themselves: each queued chat is offered to the best agent, lapses to the next, and
comes back to the queue, first in line, when its agent's console has been gone past the grace period.

`dispatch()` runs after anything that can change who should get what (a handoff, an agent coming online
or freeing a place, a lapsed offer); one run at a time per process, and a call during a run makes it run
once more. Claims are atomic (routing/claims.py), so several processes dispatching at once never
double-assign. The scheduler's `sweep()` catches what a process's timers missed (a process that died).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from handoff import realtime
from handoff.db import session_scope
from handoff.models import Agent, Conversation, Message, utcnow
from handoff.routing import claims, policy, presence, selector
from handoff.routing import queue as routing_queue

log = logging.getLogger("careregistry.assignment")
MAX_RACES = 5  # choices lost to other processes in one run before leaving the rest to the next run
_running = threading.Lock()
_again = False


def auto() -> bool:
    return policy.current.mode == "auto"


def dispatch() -> list[tuple[int, int]]:
    """Offer every queued chat that someone fits to its best agent. Returns the (chat, agent) offers made."""
    global _again
    if not auto():
        return []
    made: list[tuple[int, int]] = []
    _again = True
    while _again:
        if not _running.acquire(blocking=False):
            return made  # the run in progress runs once more for this call
        try:
            _again = False
            made += _dispatch_once()
        finally:
            _running.release()
    return made


def _dispatch_once() -> list[tuple[int, int]]:
    made, races = [], 0
    while races <= MAX_RACES:
        now = utcnow()
        with session_scope() as s:
            line = [c for c in routing_queue.waiting(s) if c.offered_to_id is None]
            if not line:
                break
            ready = claims.ready(s, now)
            known_skills = claims.skilled_somewhere(s)
            plan = []
            for c in line:
                waited = (now - (c.queued_at or now)).total_seconds()
                best = selector.choose(ready, c.topic, skill_exists=c.topic in known_skills, waited_s=waited,
                                       skill_wait=policy.current.skill_wait, team_id=c.team_id)
                if best is not None:
                    plan.append((c.id, best.id, best.version))
                    best.open += 1  # a later chat in this run sees the place taken
                    best.version += 1
                    best.last_assigned_at = now
        if not plan:
            break
        lost = False
        for cid, agent_id, version in plan:
            try:
                with session_scope() as s:
                    claims.offer_chat(s, cid, selector.Candidate(id=agent_id, capacity=0, version=version), now)
            except claims.Lost:
                lost = True
                break
            made.append((cid, agent_id))
            _offered(cid, agent_id, now)
        if not lost:
            break
        races += 1
    if made:
        publish_queue()
    return made


def _offered(conversation_id: int, agent_id: int, offered_at) -> None:
    from handoff.chat.conversations import conversation_dict

    with session_scope() as s:
        c = s.get(Conversation, conversation_id)
        data = conversation_dict(s, c)
    log.info("chat offered conversation=%s agent=%s", conversation_id, agent_id)
    realtime.publish_chat_assigned(agent_id, {"conversation": data,
                                              "accept_within_s": policy.current.accept_timeout})
    realtime.start_background_task(_lapse_later, conversation_id, agent_id, offered_at)


def _lapse_later(conversation_id: int, agent_id: int, offered_at) -> None:
    time.sleep(policy.current.accept_timeout)
    try:
        if lapse(conversation_id, agent_id, offered_at):
            dispatch()
    except Exception:  # a timer must not die loudly; the scheduler's sweep retries
        log.exception("offer lapse failed conversation=%s agent=%s", conversation_id, agent_id)


def lapse(conversation_id: int, agent_id: int, offered_at=None, *, reason: str = "timeout") -> bool:
    """Take back an unanswered offer. An agent who let it lapse is set away: they are not at the desk."""
    with session_scope() as s:
        if not claims.withdraw_offer(s, conversation_id, agent_id, offered_at):
            return False
        if reason == "timeout":
            s.execute(update(Agent).where(Agent.id == agent_id).values(presence="away"))
    log.info("chat offer withdrawn conversation=%s agent=%s reason=%s", conversation_id, agent_id, reason)
    realtime.publish_offer_withdrawn(agent_id, conversation_id, reason)
    if reason == "timeout":  # away now, so any other chat offered to them goes back to the queue too
        withdraw_offers_of(agent_id, reason="agent away")
        realtime.publish_presence(agent_id, "away", "You missed a chat, so we set you away. "
                                                   "Set yourself online to get chats again.")
    return True


def withdraw_offers_of(agent_id: int, reason: str) -> int:
    """Every open offer to this agent goes back to the queue at once (they left, or went away)."""
    with session_scope() as s:
        ids = list(s.scalars(select(Conversation.id).where(Conversation.status == "queued",
                                                           Conversation.offered_to_id == agent_id)))
    return sum(lapse(cid, agent_id, reason=reason) for cid in ids)


def requeue_agent_chats(agent_id: int, reason: str) -> list[int]:
    """An agent's open chats go back to the queue, first in line (they went offline, or were deactivated)."""
    now = utcnow()
    with session_scope() as s:
        ids = list(s.scalars(select(Conversation.id).where(Conversation.agent_id == agent_id,
                                                           Conversation.status == "agent")))
        if ids:
            s.execute(update(Conversation).where(Conversation.id.in_(ids), Conversation.agent_id == agent_id,
                                                 Conversation.status == "agent")
                      .values(status="queued", agent_id=None, queued_at=now, first_in_line=True,
                              offered_to_id=None, offered_at=None, updated_at=now))
            for cid in ids:  # staff see why; the customer sees only that they are waiting again
                s.add(Message(conversation_id=cid, sender="system", internal=True,
                              text=f"Back in the queue: {reason}."))
    offers = withdraw_offers_of(agent_id, reason="agent offline")
    for cid in ids:
        realtime.publish_status(cid, "queued", None)
    if ids:
        log.info("chats requeued agent=%s conversations=%s reason=%s", agent_id, len(ids), reason.replace(" ", "_"))
    if ids or offers:
        publish_queue()
    return ids


def sweep() -> None:
    """The scheduler's safety net: lapsed offers, offline agents' chats, then a dispatch."""
    now = utcnow()
    timeout = timedelta(seconds=policy.current.accept_timeout)
    with session_scope() as s:
        lapsed = s.execute(select(Conversation.id, Conversation.offered_to_id, Conversation.offered_at)
                           .where(Conversation.status == "queued", Conversation.offered_to_id.is_not(None),
                                  Conversation.offered_at < now - timeout)).all()
        gone = claims.offline_with_chats(s, now, policy.current.offline_grace)
    for cid, agent_id, offered_at in lapsed:
        lapse(cid, agent_id, offered_at)
    for agent_id in gone:
        requeue_agent_chats(agent_id, "the agent went offline")
    dispatch()


def agent_left(agent_id: int) -> None:
    """The agent's last console closed: their offers move on now, their chats after the grace period."""
    with session_scope() as s:
        still_open = s.scalar(select(Agent.connections).where(Agent.id == agent_id)) or 0
    if still_open:
        return
    if withdraw_offers_of(agent_id, reason="agent offline"):
        dispatch()
    realtime.start_background_task(_sweep_later, policy.current.offline_grace + 1)


def _sweep_later(delay: float) -> None:
    time.sleep(delay)
    try:
        sweep()
    except Exception:
        log.exception("sweep failed")


def set_presence(agent_id: int, status) -> str:
    shown = presence.set_status(agent_id, status)
    if status != "online":
        withdraw_offers_of(agent_id, reason=f"agent {status}")
    log.info("agent presence agent=%s status=%s", agent_id, status)
    realtime.publish_presence(agent_id, shown, None)
    dispatch()
    publish_queue()
    return shown


# --- what agents and waiting customers see, coalesced ---------------------------------------------------

QUEUE_COALESCE_SECONDS = 0.2
# Every accept moves every waiting customer one place up. With 1,000 waiting, telling each of them at the
# agents' pace was 5,000 emits a second: the loop stalled for seconds at a time, and the widgets' pongs
# came back past the ping timeout (572 of 1,000 customers dropped while agents took the queue). Waiting
# customers hear their place at most once a POSITIONS_EVERY_SECONDS pass; the front of the line on every
# pass, the rest when their place changed and FAR_BACK_EVERY_SECONDS passed since they last heard it.
POSITIONS_EVERY_SECONDS = 1.0
FRONT_OF_LINE = 20
FAR_BACK_EVERY_SECONDS = 15.0
EMITS_BETWEEN_TURNS = 50  # a pass over a long line lets the rest of the loop run between batches
_queue_publish = threading.Lock()
_queue_pending = False
_positions_pending = False
_positions_sent: dict[int, tuple[dict, float]] = {}  # what this process last told each waiting customer, when


def publish_queue() -> None:
    """Send the queue to every agent at most ~5 times a second, and waiting customers their place (above)."""
    global _queue_pending, _positions_pending
    with _queue_publish:
        start_queue, start_positions = not _queue_pending, not _positions_pending
        _queue_pending = _positions_pending = True
    if start_queue:
        realtime.start_background_task(_publish_queue_soon)
    if start_positions:
        realtime.start_background_task(_publish_positions_soon)


def _publish_queue_soon() -> None:
    global _queue_pending
    from handoff.chat.conversations import queue_event

    time.sleep(QUEUE_COALESCE_SECONDS)
    with _queue_publish:
        _queue_pending = False
    try:
        realtime.publish_queue(queue_event())
    except Exception:
        log.exception("queue publish failed")


def _publish_positions_soon() -> None:
    global _positions_pending
    time.sleep(POSITIONS_EVERY_SECONDS)
    with _queue_publish:
        _positions_pending = False
    try:
        publish_positions()
    except Exception:
        log.exception("queue positions publish failed")


def queue_position(conversation_id: int) -> dict | None:
    with session_scope() as s:
        return routing_queue.positions(s, utcnow(), online_count(s)).get(conversation_id)


def publish_positions(now: float | None = None) -> int:
    """Tell waiting customers their changed place (the front of the line always, the rest now and then).
    Returns how many were told."""
    now = time.monotonic() if now is None else now
    with session_scope() as s:
        places = routing_queue.positions(s, utcnow(), online_count(s))
    for cid in [c for c in _positions_sent if c not in places]:
        _positions_sent.pop(cid, None)
    told = 0
    for cid, place in places.items():
        last, at = _positions_sent.get(cid, (None, 0.0))
        if last == place or (place["position"] > FRONT_OF_LINE and last is not None
                             and now - at < FAR_BACK_EVERY_SECONDS):
            continue
        _positions_sent[cid] = (place, now)
        realtime.publish_place(cid, place)
        told += 1
        if told % EMITS_BETWEEN_TURNS == 0:
            time.sleep(0)  # under gevent: a turn for the sockets' readers and writers
    return told


def online_count(s) -> int:
    """Agents taking chats now (chosen online, console live)."""
    now = utcnow()
    rows = s.execute(select(Agent.presence, Agent.role, Agent.connections, Agent.last_seen_at)
                     .where(Agent.active.is_(True), Agent.connections > 0)).all()
    return sum(presence.effective(p, r, n, seen, now) == "online" for p, r, n, seen in rows)
