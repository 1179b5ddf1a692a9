"""A live chat's SLA: timers from when it is queued, stopped when an agent takes it, breaches told once to
staff (never the customer) and escalated as the policy says."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from handoff.chat import deadlines
from handoff.db import session_scope
from handoff.models import Conversation, Message, OutboxMail
from handoff.routing import sla_policies
from tests.fakes import wait_for


def _queued(customer_socket, api):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "Where is my parcel", "client_msg_id": "s1"})
    wait_for(lambda: chat.texts("bot"))
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).get_json()["status"] == "queued"
    with session_scope() as s:
        c = s.get(Conversation, cid)
        return chat, cid, c.queued_at, c.priority


def _timers(cid):
    with session_scope() as s:
        return s.scalar(select(Conversation.sla).where(Conversation.id == cid))


def test_a_queued_chat_shows_its_timers_and_a_breach_is_told_to_staff_only(customer_socket, agent_socket, api,
                                                                            make_agent):
    make_agent("Ada Admin", role="admin")
    agent = agent_socket()
    chat, cid, queued_at, priority = _queued(customer_socket, api)
    timers = _timers(cid)
    assert set(timers) == {"first_response", "resolution"}
    offered = wait_for(lambda: agent.of("chat_assigned"))[-1]["conversation"]
    assert [t["name"] for t in offered["sla"]] == ["first_response", "resolution"]

    due = datetime.fromisoformat(timers["first_response"]["due"])
    assert deadlines.watch(due + timedelta(seconds=1)) == 1
    assert deadlines.watch(due + timedelta(seconds=2)) == 0
    alert = wait_for(lambda: agent.of("sla_alert"))[-1]
    assert (alert["conversation"], alert["timer"], alert["level"]) == (cid, "first_response", "breached")
    with session_scope() as s:
        notes = [(m.text, m.internal) for m in s.scalars(select(Message).where(Message.conversation_id == cid))
                 if m.text.startswith("SLA")]
    assert len(notes) == 1 and notes[0][0].startswith("SLA breached: first response due") and notes[0][1]
    assert not [m for m in chat.of("message") if m["text"].startswith("SLA")]  # staff only
    with session_scope() as s:
        assert [m.to_addr for m in s.scalars(select(OutboxMail).where(OutboxMail.kind == "sla_alert"))] == \
            ["ada@example.com"]

    agent.emit("accept", {"conversation_id": cid})
    assert _timers(cid)["first_response"]["done"]


def test_taking_the_chat_in_time_meets_the_first_response_and_resolving_ends_the_watch(customer_socket,
                                                                                       agent_socket, api):
    agent = agent_socket()
    _, cid, queued_at, _ = _queued(customer_socket, api)
    assert agent.emit("accept", {"conversation_id": cid})["ok"]
    assert agent.emit("resolve", {"conversation_id": cid})["ok"]
    timers = _timers(cid)
    assert all(t["done"] <= t["due"] for t in timers.values())
    assert deadlines.watch(queued_at + timedelta(days=30)) == 0


def test_a_breach_puts_the_chat_back_in_the_queue_when_the_policy_says_so(customer_socket, agent_socket, api):
    for priority in ("low", "normal", "high", "urgent"):
        sla_policies.save(priority, None, first_response_min=0, next_response_min=0, resolution_min=30,
                          requeue=True)
    agent = agent_socket()
    chat, cid, queued_at, _ = _queued(customer_socket, api)
    assert agent.emit("accept", {"conversation_id": cid})["ok"]

    assert deadlines.watch(queued_at + timedelta(minutes=31)) == 1

    with session_scope() as s:
        c = s.get(Conversation, cid)
        assert (c.status, c.agent_id, c.first_in_line) == ("queued", None, True)
    assert wait_for(lambda: [s for s in chat.of("conversation_status") if s["status"] == "queued"][1:])
