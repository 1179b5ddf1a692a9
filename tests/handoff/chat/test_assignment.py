"""Automatic assignment as agents and customers see it on their sockets: the chat goes to the right agent,
lapses to the next, waits in a line whose place the customer watches, and moves on transfer or absence."""
from __future__ import annotations

import pytest

from handoff.db import session_scope
from handoff.models import Faq, FaqQuery
from tests.fakes import wait_for


def _about(cid: int, topic: str) -> None:
    """The bot matched an FAQ of this topic in the chat (what it does when it searches for the customer)."""
    with session_scope() as s:
        faq = s.query(Faq).filter_by(slug=f"faq-{topic}").first()
        if faq is None:
            faq = Faq(slug=f"faq-{topic}", answer="An answer.", category=topic)
            s.add(faq)
            s.flush()
        s.add(FaqQuery(text="q", normalized="q", decision="answer", faq_id=faq.id, conversation_id=cid))


def _handed_off(customer_socket, api, topic: str | None = None, text: str = "my parcel is late"):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": text, "client_msg_id": "m1"})
    wait_for(lambda: chat.texts("bot"))
    if topic:
        _about(cid, topic)
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).get_json()["status"] == "queued"
    return chat, cid


def _offers(console) -> list[int]:
    return [o["conversation"]["id"] for o in console.of("chat_assigned")]


def test_a_chat_goes_at_once_to_the_agent_skilled_in_its_topic(customer_socket, agent_socket, make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    kim = agent_socket(make_agent("Kim Agent", skills=("orders",)))
    chat, cid = _handed_off(customer_socket, api, "orders")
    assert wait_for(lambda: _offers(kim)) == [cid]
    offer = kim.of("chat_assigned")[0]
    assert offer["accept_within_s"] == 30 and offer["conversation"]["messages"]
    assert _offers(sam) == []
    # Someone else's offer is not theirs to take.
    assert sam.emit("accept", {"conversation_id": cid}) == {"ok": False, "error": "This chat is offered to another agent."}
    assert kim.emit("accept", {"conversation_id": cid})["ok"]
    assert wait_for(lambda: chat.of("conversation_status")[-1]["agent"]) == {"name": "Kim Agent"}


def test_among_skilled_agents_the_least_busy_gets_the_next_chat(customer_socket, agent_socket, make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    kim = agent_socket(make_agent("Kim Agent", skills=("billing",)))
    _, first = _handed_off(customer_socket, api, "billing")
    taker, other = (sam, kim) if wait_for(lambda: _offers(sam) or _offers(kim)) and _offers(sam) else (kim, sam)
    assert taker.emit("accept", {"conversation_id": first})["ok"]
    _, second = _handed_off(customer_socket, api, "billing")
    assert wait_for(lambda: _offers(other)) == [second]


@pytest.mark.settings(ASSIGN_ACCEPT_TIMEOUT=1)
def test_an_agent_who_misses_an_offer_is_set_away_until_they_come_back(
        customer_socket, agent_socket, make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    kim = agent_socket(make_agent("Kim Agent", skills=("orders",)))  # not skilled: only after Sam missed it
    _, cid = _handed_off(customer_socket, api, "billing")
    assert wait_for(lambda: _offers(sam)) == [cid]
    assert wait_for(lambda: sam.of("offer_withdrawn"), timeout=4)[-1] == {"conversation_id": cid, "reason": "timeout"}
    assert wait_for(lambda: [p for p in sam.of("presence") if p["status"] == "away"])
    # Kim lacks the skill, and Sam (who has it) is away: the chat waits for a skilled agent (SKILL_WAIT).
    assert _offers(kim) == []
    assert sam.emit("set_presence", {"status": "online"}) == {"ok": True, "status": "online"}
    assert wait_for(lambda: _offers(sam)) == [cid, cid]


@pytest.mark.settings(ASSIGN_ACCEPT_TIMEOUT=1)
def test_the_next_skilled_agent_gets_a_lapsed_offer(customer_socket, agent_socket, make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    kim = agent_socket(make_agent("Kim Agent", skills=("billing",)))
    _, cid = _handed_off(customer_socket, api, "billing")
    first, second = (sam, kim) if wait_for(lambda: _offers(sam) or _offers(kim)) and _offers(sam) else (kim, sam)
    assert wait_for(lambda: _offers(second), timeout=4) == [cid]
    assert first.of("offer_withdrawn")[-1]["reason"] == "timeout"
    assert first.emit("accept", {"conversation_id": cid})["ok"] is False
    assert second.emit("accept", {"conversation_id": cid})["ok"]


def test_the_customer_sees_their_place_in_line_fall_as_the_queue_moves(customer_socket, agent_socket, make_agent,
                                                                      api):
    from handoff.people import agents

    sam_agent = make_agent("Sam Agent", skills=())
    agents.set_routing(sam_agent["id"], skills=[], team_id=None, capacity=1, ticket_capacity=5)
    sam = agent_socket(sam_agent)
    first_chat, first = _handed_off(customer_socket, api)
    second_chat, second = _handed_off(customer_socket, api)
    third_chat, third = _handed_off(customer_socket, api)
    assert wait_for(lambda: _offers(sam)) == [first]

    def place(chat):
        queued = [e for e in chat.of("conversation_status") if e["status"] == "queued"]
        return queued[-1]["queue"]["position"] if queued else None

    assert wait_for(lambda: place(second_chat) == 2)
    assert wait_for(lambda: place(third_chat) == 3)
    assert sam.emit("accept", {"conversation_id": first})["ok"]
    assert wait_for(lambda: place(second_chat) == 1) and wait_for(lambda: place(third_chat) == 2)
    assert first_chat.of("conversation_status")[-1] == {"conversation_id": first, "status": "agent",
                                                        "agent": {"name": "Sam Agent"}}
    # Sam is full: nothing more is offered until a place frees up, then the next in line gets it.
    assert _offers(sam) == [first]
    assert sam.emit("resolve", {"conversation_id": first})["ok"]
    assert wait_for(lambda: _offers(sam)) == [first, second]
    assert place(third_chat) == 2  # the chat offered to Sam is still ahead until he takes it
    assert sam.emit("accept", {"conversation_id": second})["ok"]
    assert wait_for(lambda: place(third_chat) == 1)


def test_a_transfer_moves_the_chat_with_a_note_the_customer_never_sees(customer_socket, agent_socket, make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    kim_agent = make_agent("Kim Agent", skills=("orders",))
    kim = agent_socket(kim_agent)
    chat, cid = _handed_off(customer_socket, api, "billing")
    assert wait_for(lambda: _offers(sam)) == [cid]
    assert sam.emit("accept", {"conversation_id": cid})["ok"]
    ack = sam.emit("transfer", {"conversation_id": cid, "agent_id": kim_agent["id"], "note": "VIP, refund agreed"})
    assert ack["ok"] and ack["to"] == "Kim Agent"
    assert wait_for(lambda: chat.of("conversation_status")[-1]["agent"] == {"name": "Kim Agent"})
    handed = wait_for(lambda: [c for c in kim.of("conversation") if c["id"] == cid])[-1]
    assert any("VIP, refund agreed" in m["text"] and m["internal"] for m in handed["messages"])
    assert not any("VIP" in t for t in chat.texts()), "the note reached the customer"
    assert "You're being transferred to Kim Agent." in chat.texts("system")
    assert kim.emit("agent_message", {"conversation_id": cid, "text": "Hi, Kim here", "client_msg_id": "k1"})["ok"]
    assert sam.emit("agent_message", {"conversation_id": cid, "text": "still me?", "client_msg_id": "s1"})["ok"] is False
    # Refusals say why and change nothing.
    assert kim.emit("transfer", {"conversation_id": cid})["error"] == "Transfer to one agent or one team."
    assert sam.emit("transfer", {"conversation_id": cid, "agent_id": kim_agent["id"]})["ok"] is False


def test_an_admin_gets_chats_only_once_they_set_themselves_online(customer_socket, agent_socket, make_agent, api):
    boss = agent_socket(make_agent("Ada Admin", role="admin", skills=()))
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).get_json()["status"] == "ticket"
    assert boss.of("presence")[0]["status"] == "offline"
    assert boss.emit("set_presence", {"status": "online"}) == {"ok": True, "status": "online"}
    _, queued = _handed_off(customer_socket, api)
    assert wait_for(lambda: _offers(boss)) == [queued]
    assert boss.emit("set_presence", {"status": "busy"})["ok"] is False


@pytest.mark.settings(OFFLINE_GRACE=0.5)
def test_an_agent_gone_past_the_grace_period_loses_their_chats_to_the_queue_first_in_line(
        customer_socket, agent_socket, make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=()))
    chat, cid = _handed_off(customer_socket, api)
    assert wait_for(lambda: _offers(sam)) == [cid]
    assert sam.emit("accept", {"conversation_id": cid})["ok"]
    sam.sock.disconnect("/agent")
    assert wait_for(lambda: chat.of("conversation_status")[-1]["status"] == "queued", timeout=5)
    kim = agent_socket(make_agent("Kim Agent", skills=()))
    assert wait_for(lambda: _offers(kim)) == [cid]
    staff_view = kim.emit("open", {"conversation_id": cid})["conversation"]["messages"]
    assert any(m["internal"] and "went offline" in m["text"] for m in staff_view)
    assert not any("went offline" in t for t in chat.texts())


def test_a_long_line_hears_its_places_the_front_at_once_the_back_now_and_then(app, monkeypatch):
    from handoff import realtime
    from handoff.chat import assignment
    from handoff.routing import queue as routing_queue

    line = {"ids": list(range(101, 111))}
    monkeypatch.setattr(routing_queue, "positions", lambda s, now, online: {
        cid: {"position": i, "estimated_wait_s": None} for i, cid in enumerate(line["ids"], start=1)})
    told: list[tuple[int, int]] = []
    monkeypatch.setattr(realtime, "publish_place", lambda cid, place: told.append((cid, place["position"])))
    monkeypatch.setattr(assignment, "FRONT_OF_LINE", 3)
    monkeypatch.setattr(assignment, "_positions_sent", {})

    assert assignment.publish_positions(now=1000.0) == 10  # everyone hears their first place
    told.clear()
    line["ids"].pop(0)  # the first chat is taken: everyone moves up one
    assert assignment.publish_positions(now=1001.0) == 3
    assert told == [(102, 1), (103, 2), (104, 3)], "only the front of the line hears every move"
    assert assignment.publish_positions(now=1002.0) == 0, "nobody hears a place they already know"
    told.clear()
    assert assignment.publish_positions(now=1001.0 + assignment.FAR_BACK_EVERY_SECONDS) == 6
    assert told[0] == (105, 4) and told[-1] == (110, 9), "the back of the line catches up now and then"


def test_an_agent_set_away_for_a_missed_offer_keeps_none_of_their_other_offers(app, make_agent):
    from sqlalchemy import select

    from handoff.chat import assignment, conversations
    from handoff.models import Conversation
    from handoff.people import agents
    from handoff.routing import presence

    sam = make_agent("Sam Agent", skills=())
    agents.set_routing(sam["id"], skills=[], team_id=None, capacity=2, ticket_capacity=5)
    presence.connected(sam["id"])
    chats = []
    for n in range(2):
        cid = conversations.open_for_visitor(f"away-test-{n}-visitor")
        assert conversations.request_handoff(cid, "customer_request")["status"] == "queued"
        chats.append(cid)
    assignment.dispatch()

    def offered_to() -> dict:
        with session_scope() as s:
            return dict(s.execute(select(Conversation.id, Conversation.offered_to_id)
                                  .where(Conversation.id.in_(chats))).all())

    assert offered_to() == {chats[0]: sam["id"], chats[1]: sam["id"]}
    assert assignment.lapse(chats[0], sam["id"])  # the first offer times out: Sam is away
    assert offered_to() == {chats[0]: None, chats[1]: None}, "an away agent holds no offer"
