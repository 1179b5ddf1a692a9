"""Handoff from the bot to a person and back, as the customer and the agents see it."""
from __future__ import annotations

import pytest

from tests.fakes import at_once, wait_for

BROADCAST = pytest.mark.settings(ROUTING_MODE="broadcast")


def _queued_chat(customer_socket, api, text="I need help with a refund"):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": text, "client_msg_id": "q1"})
    wait_for(lambda: chat.texts("bot"))
    resp = api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    assert resp.status_code == 200
    return chat, cid, resp.get_json()


@BROADCAST
def test_handoff_reaches_every_online_agent_with_transcript_and_reason(customer_socket, agent_socket, make_agent, api):
    sam = agent_socket()
    kim = agent_socket(make_agent("Kim Agent"))
    chat, cid, result = _queued_chat(customer_socket, api)
    assert result == {"status": "queued", "agents_online": 2}
    for console in (sam, kim):
        queue = wait_for(lambda c=console: [q for q in c.of("queue") if q["conversations"]])
        item = queue[-1]["conversations"][0]
        assert item["id"] == cid and item["handoff_reason"] == "customer_request"
        assert item["last_message"].startswith("bot heard")
        preview = console.emit("open", {"conversation_id": cid})
        assert [m["text"] for m in preview["conversation"]["messages"]][:1] == ["I need help with a refund"]
    assert chat.of("conversation_status")[-1] == {"conversation_id": cid, "status": "queued", "agent": None,
                                                  "queue": {"position": 1, "estimated_wait_s": None}}


def test_live_chat_both_ways_then_resolve_and_the_bot_resumes(customer_socket, agent_socket, api, fake_rasa):
    agent = agent_socket()
    chat, cid, _ = _queued_chat(customer_socket, api)
    ack = agent.emit("accept", {"conversation_id": cid})
    assert ack["ok"] and ack["conversation"]["status"] == "agent"
    assert chat.of("conversation_status")[-1]["agent"] == {"name": "Sam Agent"}
    sent_to_bot = len(fake_rasa.received)

    assert chat.emit("customer_message", {"text": "are you a person?", "client_msg_id": "c2"})["ok"]
    assert wait_for(lambda: "are you a person?" in agent.texts("customer"))
    assert agent.emit("agent_message", {"conversation_id": cid, "text": "Yes, I'm Sam.", "client_msg_id": "a1"})["ok"]
    assert wait_for(lambda: "Yes, I'm Sam." in chat.texts("agent"))
    chat.sock.emit("typing", {"typing": True}, namespace="/chat")
    assert wait_for(lambda: agent.of("typing"))[-1] == {"conversation_id": cid, "sender": "customer", "typing": True}
    agent.sock.emit("typing", {"conversation_id": cid, "typing": True}, namespace="/agent")
    assert wait_for(lambda: chat.of("typing"))[-1]["sender"] == "agent"
    assert len(fake_rasa.received) == sent_to_bot, "the bot must not answer while a person owns the chat"

    assert agent.emit("resolve", {"conversation_id": cid})["ok"]
    assert chat.of("conversation_status")[-1]["status"] == "resolved"
    chat.emit("customer_message", {"text": "one more thing", "client_msg_id": "c3"})
    assert wait_for(lambda: "bot heard: one more thing" in chat.texts("bot"))


def test_hand_back_to_the_bot(customer_socket, agent_socket, api):
    agent = agent_socket()
    chat, cid, _ = _queued_chat(customer_socket, api)
    agent.emit("accept", {"conversation_id": cid})
    assert agent.emit("hand_back", {"conversation_id": cid})["ok"]
    assert chat.of("conversation_status")[-1]["status"] == "bot"
    chat.emit("customer_message", {"text": "thanks bot", "client_msg_id": "hb"})
    assert wait_for(lambda: "bot heard: thanks bot" in chat.texts("bot"))
    assert not agent.emit("agent_message", {"conversation_id": cid, "text": "late", "client_msg_id": "z"})["ok"]


@BROADCAST
def test_two_agents_accepting_together_exactly_one_wins(customer_socket, agent_socket, make_agent, api):
    consoles = [agent_socket(), agent_socket(make_agent("Kim Agent")), agent_socket(make_agent("Lee Agent"))]
    _, cid, _ = _queued_chat(customer_socket, api)
    acks = at_once(lambda c=c: c.emit("accept", {"conversation_id": cid}) for c in consoles)
    assert sorted(a["ok"] for a in acks) == [False, False, True]
    assert {a["error"] for a in acks if not a["ok"]} == {"Another agent has already taken this conversation."}


def test_no_agent_online_opens_a_ticket_from_the_transcript(customer_socket, api):
    chat, cid, result = _queued_chat(customer_socket, api, "my router keeps rebooting")
    assert result["status"] == "ticket" and result["email_known"] is False
    ticket = api.get(f"/api/conversations/{cid}/tickets/{result['ticket']['number']}").get_json()
    assert ticket["status"] == "new" and ticket["subject"] == "my router keeps rebooting"
    assert chat.of("conversation_status") == []  # still with the bot


def test_agent_reconnecting_gets_open_chats_back(customer_socket, agent_socket, make_agent, api):
    sam = make_agent()
    first = agent_socket(sam)
    _, cid, _ = _queued_chat(customer_socket, api)
    first.emit("accept", {"conversation_id": cid})
    first.sock.disconnect("/agent")
    second = agent_socket(sam)
    owned = second.of("conversation")
    assert [c["id"] for c in owned] == [cid] and owned[0]["messages"]


def test_agents_cannot_touch_chats_that_are_not_theirs(customer_socket, agent_socket, make_agent, api):
    sam, kim = agent_socket(), agent_socket(make_agent("Kim Agent"))
    chat, cid, _ = _queued_chat(customer_socket, api)
    sam.emit("accept", {"conversation_id": cid})
    for event, data in [("agent_message", {"conversation_id": cid, "text": "hi", "client_msg_id": "k"}),
                        ("resolve", {"conversation_id": cid}), ("hand_back", {"conversation_id": cid}),
                        ("open", {"conversation_id": cid}), ("accept", {"conversation_id": cid})]:
        ack = kim.emit(event, data)
        assert ack["ok"] is False, event
    for bad in ({"conversation_id": 99999}, {"conversation_id": "abc"}, {}, "nope", {"conversation_id": True}):
        assert kim.emit("accept", bad)["ok"] is False
    assert "hi" not in chat.texts()


def test_anonymous_and_customers_cannot_open_the_agent_namespace(app, customer_socket):
    sio = app.extensions["socketio"]
    assert not sio.test_client(app, namespace="/agent").is_connected("/agent")
    assert not sio.test_client(app, namespace="/agent", auth={"visitor_id": "visitor-abcdefgh"}).is_connected("/agent")


def test_deactivating_an_agent_puts_their_chats_back_in_the_queue(customer_socket, agent_socket, make_agent, api):
    from handoff.people import agents

    sam = make_agent()
    console = agent_socket(sam)
    chat, cid, _ = _queued_chat(customer_socket, api)
    console.emit("accept", {"conversation_id": cid})
    agents.set_active(sam["id"], False)
    assert chat.of("conversation_status")[-1]["status"] == "queued"


def test_queue_suggests_the_least_busy_agent_whose_skills_cover_the_topic(seeded, customer_socket, agent_socket,
                                                                          make_agent, api):
    sam = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    kim = agent_socket(make_agent("Kim Agent", skills=("technical",)))
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    # The bot looked the question up for this conversation: it is about a technical FAQ.
    search = api.get("/api/faq/search", query_string={"q": "how do I reset the device to factory settings",
                                                      "conversation_id": cid}).get_json()
    assert search["matches"]
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "low_confidence"})
    item = wait_for(lambda: [c for q in sam.of("queue") for c in q["conversations"] if c["id"] == cid])[-1]
    assert item["topic"] == "technical"
    assert item["suggested_agent"]["name"] == "Kim Agent"
    assert kim.of("queue")


def test_a_request_for_a_person_inside_a_longer_message_hands_off_at_once(customer_socket, agent_socket, fake_rasa):
    sam = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "how do refunds work", "client_msg_id": "q1"})
    wait_for(lambda: chat.texts("bot"))
    relayed = len(fake_rasa.received)
    # Right after the bot answered (or offered choices), asked for in the customer's own words:
    chat.emit("customer_message", {"text": "that's not it, I've waited two weeks. Can I talk to a human please?",
                                   "client_msg_id": "q2"})
    queue = wait_for(lambda: [q for q in sam.of("queue") if q["conversations"]])
    item = queue[-1]["conversations"][0]
    assert item["id"] == cid and item["handoff_reason"] == "customer_request"
    assert chat.of("conversation_status")[-1]["status"] == "queued"
    assert any("connecting you with a person" in t for t in chat.texts("system"))
    assert len(fake_rasa.received) == relayed  # the bot was not asked to guess what it meant


@BROADCAST
def test_a_long_queue_shows_its_head_and_how_many_wait_in_all(customer_socket, agent_socket, api, monkeypatch):
    from handoff.chat import conversations

    monkeypatch.setattr(conversations, "QUEUE_SHOWN", 2)
    sam = agent_socket()
    queued = [_queued_chat(customer_socket, api, f"I need help with order {n}")[1] for n in range(3)]
    last = wait_for(lambda: [q for q in sam.of("queue") if q.get("total") == 3])[-1]
    # The first two in line, in order; the third is counted, not sent to every console.
    assert [c["id"] for c in last["conversations"]] == queued[:2]
    assert sam.emit("accept", {"conversation_id": queued[0]})["conversation"]["id"] == queued[0]
    last = wait_for(lambda: [q for q in sam.of("queue") if q.get("total") == 2])[-1]
    assert [c["id"] for c in last["conversations"]] == queued[1:]
