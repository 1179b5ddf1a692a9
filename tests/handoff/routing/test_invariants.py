"""Assignment invariants over random days: arrivals, agents coming and going, capacity changes, lapsed
offers, transfers and resolutions, run against the real service functions and database.

After every step: nobody holds more than their capacity allowed when they got the work, no offer is held
by an agent who is not online, every handed-off chat has exactly one place (queue, offer, one agent, or
resolved), none is lost, a waiting chat that a ready agent fits is offered at once, and at the end one
agent with room for everything drains the whole queue (no starvation).
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from handoff.chat import assignment, conversations
from handoff.db import session_scope
from handoff.errors import ServiceError
from handoff.models import Agent, Conversation, Faq, FaqQuery
from handoff.people import agents
from handoff.routing import catalog, claims, presence
from handoff.routing.selector import PRIORITY_RANK
from tests.handoff.conftest import PASSWORD

TOPICS = ("billing", "orders")
AGENTS = 3
_run = itertools.count()

agent_ix = st.integers(0, AGENTS - 1)
ops = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from((None, *TOPICS)), st.sampled_from(tuple(PRIORITY_RANK))),
    st.tuples(st.just("connect"), agent_ix),
    st.tuples(st.just("disconnect"), agent_ix),
    st.tuples(st.just("grace_over"), agent_ix),
    st.tuples(st.just("status"), agent_ix, st.sampled_from(("online", "away", "offline"))),
    st.tuples(st.just("capacity"), agent_ix, st.integers(0, 3)),
    st.tuples(st.just("accept"), agent_ix),
    st.tuples(st.just("lapse"), agent_ix),
    st.tuples(st.just("resolve"), agent_ix),
    st.tuples(st.just("transfer"), agent_ix, agent_ix),
    st.tuples(st.just("to_team"), agent_ix),
)


@pytest.fixture
def desk(app):
    """Long timers: lapses and the grace period happen when the test says (the `lapse`, `grace_over` steps)."""
    from handoff.routing import policy

    policy.configure({"ROUTING_MODE": "auto", "ASSIGN_ACCEPT_TIMEOUT": 3600, "OFFLINE_GRACE": 3600,
                      "SKILL_WAIT": 3600})
    with session_scope() as s:
        faq_ids = {}
        for topic in TOPICS:
            faq = Faq(slug=f"faq-{topic}", answer="An answer.", category=topic)
            s.add(faq)
            s.flush()
            faq_ids[topic] = faq.id
    team = catalog.create_team("Second line")
    return {"faqs": faq_ids, "team": team["id"]}


def _state() -> dict:
    with session_scope() as s:
        chats = {c.id: (c.status, c.agent_id, c.offered_to_id, c.topic, c.team_id)
                 for c in s.scalars(select(Conversation).where(Conversation.handoff_reason.is_not(None)))}
        people = {a.id: (a.capacity, presence.of(a), a.active, frozenset(a.skills or ()))
                  for a in s.scalars(select(Agent).where(Agent.active.is_(True)))}
        load = claims.chat_load(s)
    return {"chats": chats, "agents": people, "load": load}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(ops, min_size=5, max_size=30),
       skills=st.lists(st.sets(st.sampled_from(TOPICS)), min_size=AGENTS, max_size=AGENTS),
       capacities=st.lists(st.integers(0, 2), min_size=AGENTS, max_size=AGENTS))
def test_assignment_invariants_hold_over_any_sequence(desk, steps, skills, capacities):
    run = next(_run)
    with session_scope() as s:  # the previous example's desk goes home
        s.execute(update(Agent).values(active=False, connections=0))
        s.execute(update(Conversation).where(Conversation.status.in_(("queued", "agent")))
                  .values(status="resolved", agent_id=None, offered_to_id=None))
    ids = [agents.create(f"Agent {run}-{i}", f"a{run}-{i}@example.com", PASSWORD, "agent", sorted(skills[i]))["id"]
           for i in range(AGENTS)]
    for a, cap in zip(ids, capacities):
        agents.set_routing(a, skills=sorted(skills[ids.index(a)]), team_id=None, capacity=cap, ticket_capacity=5)
    allowed = dict(zip(ids, capacities))  # the most each may hold now: capacity, or what they had when it fell
    handed_off: set[int] = set()
    resolved: set[int] = set()
    visitors = itertools.count()
    before = _state()

    for step in steps:
        kind, *args = step
        a = ids[args[0]] if kind != "arrive" else None
        held_before = before["load"].get(a, 0)
        try:
            if kind == "arrive":
                topic, priority = args
                cid = conversations.open_for_visitor(f"prop-{run}-{next(visitors):04d}-visitor")
                if topic:
                    with session_scope() as s:
                        s.add(FaqQuery(text="q", normalized="q", decision="answer", faq_id=desk["faqs"][topic],
                                       conversation_id=cid))
                result = conversations.request_handoff(cid, "customer_request")
                if result["status"] == "queued":
                    handed_off.add(cid)
                    with session_scope() as s:  # triage would set it; the queue orders by it
                        s.execute(update(Conversation).where(Conversation.id == cid).values(priority=priority))
            elif kind == "connect":
                presence.connected(a)
                assignment.dispatch()
            elif kind == "disconnect":
                with session_scope() as s:
                    open_consoles = s.get(Agent, a).connections
                if open_consoles:
                    presence.disconnected(a)
                    assignment.agent_left(a)
            elif kind == "grace_over":
                with session_scope() as s:
                    gone = s.get(Agent, a).connections == 0
                if gone:
                    assignment.requeue_agent_chats(a, "the agent went offline")
                    assignment.dispatch()
            elif kind == "status":
                assignment.set_presence(a, args[1])
            elif kind == "capacity":
                agents.set_routing(a, skills=sorted(skills[args[0]]), team_id=None, capacity=args[1],
                                   ticket_capacity=5)
                allowed[a] = max(args[1], held_before)  # what they held stays; nothing new beyond it
            elif kind == "accept":
                offered = [c for c, (st_, _, off, *_) in _state()["chats"].items() if st_ == "queued" and off == a]
                if offered:
                    conversations.accept(a, offered[0])
            elif kind == "lapse":
                offered = [c for c, (st_, _, off, *_) in _state()["chats"].items() if st_ == "queued" and off == a]
                if offered:
                    assignment.lapse(offered[0], a)
                    assignment.dispatch()
            elif kind == "resolve":
                mine = [c for c, (st_, owner, *_) in _state()["chats"].items() if st_ == "agent" and owner == a]
                if mine:
                    conversations.resolve(a, mine[0])
                    resolved.add(mine[0])
            elif kind == "transfer":
                mine = [c for c, (st_, owner, *_) in _state()["chats"].items() if st_ == "agent" and owner == a]
                if mine:
                    conversations.transfer(a, mine[0], to_agent=ids[args[1]], note="over to you")
            elif kind == "to_team":
                mine = [c for c, (st_, owner, *_) in _state()["chats"].items() if st_ == "agent" and owner == a]
                if mine:
                    conversations.transfer(a, mine[0], to_team=desk["team"], note="second line")
        except ServiceError:
            pass  # a refusal (full, offline, already taken) must change nothing: the invariants check it
        after = _state()
        _check(step, before, after, allowed, handed_off, resolved)
        for agent_id in ids:  # what an agent holds beyond a lowered capacity only ever shrinks
            cap = after["agents"][agent_id][0]
            allowed[agent_id] = max(cap, min(allowed[agent_id], after["load"].get(agent_id, 0)))
        before = after

    # No starvation: one agent with every skill and room for everything takes the whole queue.
    rescuer = agents.create(f"Rescuer {run}", f"r{run}@example.com", PASSWORD, "agent", list(TOPICS))["id"]
    agents.set_routing(rescuer, skills=list(TOPICS), team_id=None, capacity=50, ticket_capacity=5)
    for a in ids:
        assignment.set_presence(a, "offline")
    presence.connected(rescuer)
    for _ in range(3):
        assignment.dispatch()
        for cid, (status, _, offered, *_) in _state()["chats"].items():
            if status == "queued" and offered == rescuer:
                conversations.accept(rescuer, cid)
    left = {c for c, (status, *_rest) in _state()["chats"].items() if status == "queued"}
    with session_scope() as s:
        on_team = set(s.scalars(select(Conversation.id).where(Conversation.team_id.is_not(None))))
    assert left <= on_team, f"chats left waiting with an agent free for them: {sorted(left - on_team)}"


def _check(step, before, after, allowed, handed_off, resolved):
    chats, people, load = after["chats"], after["agents"], after["load"]
    where = f"after {step}"
    for cid in handed_off:
        assert cid in chats, f"chat {cid} lost {where}"
        status, owner, offered, *_ = chats[cid]
        if cid not in resolved:
            assert status in ("queued", "agent"), f"chat {cid} is {status} {where}"
        if status == "agent":
            assert owner is not None and offered is None, f"chat {cid} has two places {where}"
        if status == "queued":
            assert owner is None, f"queued chat {cid} has an owner {where}"
        if offered is not None:
            assert people.get(offered, (0, "offline"))[1] == "online", f"chat {cid} offered to a non-online agent {where}"
        if status == "agent" and before["chats"].get(cid, (None, None))[1] != owner:
            was_online = before["agents"].get(owner, (0, "offline"))[1] == "online"
            assert was_online or before["chats"][cid][2] == owner, f"chat {cid} given to an offline agent {where}"
    for agent_id, held in load.items():
        if agent_id in allowed:
            assert held <= allowed[agent_id], f"agent {agent_id} holds {held} > {allowed[agent_id]} {where}"
    # Work-conserving: nothing waits unoffered while a ready agent with room is skilled for it.
    ready = {a: (cap, skills) for a, (cap, status, active, skills) in people.items() if status == "online"}
    for cid, (status, _, offered, topic, team) in chats.items():
        if status != "queued" or offered is not None or team is not None:
            continue
        for a, (cap, skills) in ready.items():
            fits = topic is None or topic in skills
            assert not (fits and load.get(a, 0) < cap), f"chat {cid} waits while agent {a} has room {where}"
