"""A worker that dies between acknowledging a customer's message and storing the bot's reply: the next
process answers that message, once."""
from __future__ import annotations

import threading
import time

from sqlalchemy import select

from handoff.chat import conversations
from handoff.chat.bot_relay import BotRelay
from handoff.db import session_scope
from handoff.models import Message, utcnow
from tests.fakes import at_once


def transcript(cid):
    with session_scope() as s:
        return [(m.sender, m.text) for m in s.scalars(select(Message).where(Message.conversation_id == cid)
                                                        .order_by(Message.id))]


def restart():
    """The moment a new process starts: after everything stored so far, before anything stored next."""
    time.sleep(0.005)
    moment = utcnow()
    time.sleep(0.005)
    return moment


def acknowledged_then_died(visitor, *texts):
    """What a killed worker leaves behind: the customer's messages stored, no relay ever ran."""
    cid = conversations.open_for_visitor(visitor)
    for i, text in enumerate(texts):
        conversations.post_customer_message(cid, text, f"{visitor}-{i}")
    return cid


def test_unanswered_messages_are_relayed_again_once_in_order(app, fake_rasa):
    relay = app.extensions["relay"]
    lost = acknowledged_then_died("visitor-lost-1", "where is my parcel?", "order 1234")
    answered = acknowledged_then_died("visitor-fine-1", "hello")
    conversations.post_bot_message(answered, "Hi! How can I help?")
    retyped = acknowledged_then_died("visitor-retyped-1", "is anyone there?")
    restarted = restart()
    # After the restart, before the replay: every widget reconnects (noting its page and browser) ...
    for visitor in ("visitor-lost-1", "visitor-fine-1", "visitor-retyped-1"):
        conversations.join(visitor, None, "https://shop.example/orders", "Firefox")
    # ... and one customer asks again, which the new process answers.
    conversations.post_customer_message(retyped, "hello??", "retyped-after")
    conversations.post_bot_message(retyped, "Hi! How can I help?")

    assert relay.answer_unanswered(restarted) == 3
    assert transcript(lost) == [("customer", "where is my parcel?"), ("customer", "order 1234"),
                                ("bot", "bot heard: where is my parcel?"), ("bot", "bot heard: order 1234")]
    assert fake_rasa.messages_from(answered) == []
    assert fake_rasa.messages_from(retyped) == ["is anyone there?"]
    assert relay.answer_unanswered(restarted) == 0, "a second start-up must not relay them again"
    assert fake_rasa.messages_from(lost) == ["where is my parcel?", "order 1234"]


def test_what_is_not_the_bots_or_came_after_the_restart_is_left_alone(app, fake_rasa, make_agent):
    relay = app.extensions["relay"]
    queued = acknowledged_then_died("visitor-queued-1", "I want a person")
    agent = make_agent()
    from handoff.routing import presence

    presence.connected(agent["id"])
    assert conversations.request_handoff(queued, "customer_request")["status"] == "queued"
    restarted = restart()
    acknowledged_then_died("visitor-live-1", "typed after the restart")  # the new process relays it

    assert relay.answer_unanswered(restarted) == 0
    assert fake_rasa.received == []
    assert transcript(queued)[-1] == ("customer", "I want a person")


def test_two_processes_starting_together_answer_each_message_once(app, fake_rasa):
    cids = [acknowledged_then_died(f"visitor-race-{i}", f"question {i}") for i in range(6)]
    restarted = restart()
    processes = [BotRelay(app.config["RASA_URL"], 2.0, app.config["RASA_TOKEN"]) for _ in range(3)]

    relayed = at_once(lambda r=r: r.answer_unanswered(restarted) for r in processes)

    assert sum(relayed) == 6
    for i, cid in enumerate(cids):
        assert fake_rasa.messages_from(cid) == [f"question {i}"]
        assert [sender for sender, _ in transcript(cid)] == ["customer", "bot"]


def test_the_replay_after_a_restart_waits_for_rasa_only_while_it_is_down(app, fake_rasa):
    """Rasa serves without its HTTP API: the wait must end as soon as its root page answers."""
    import time

    relay = app.extensions["relay"]
    started = time.monotonic()
    assert relay.wait_for_rasa(timeout=6) is True
    assert time.monotonic() - started < 3, "waited for an API endpoint Rasa does not serve"
    fake_rasa.mode = "down"
    assert relay.wait_for_rasa(timeout=1) is False


def test_a_reply_to_a_conversation_that_is_gone_is_refused_and_stores_nothing(app):
    import pytest

    from handoff.errors import NotFound

    with pytest.raises(NotFound):
        conversations.post_bot_message(987654, "Hi! How can I help?")
    with session_scope() as s:
        assert s.scalars(select(Message).where(Message.conversation_id == 987654)).all() == []


def test_a_question_that_waited_behind_an_answer_stays_unasked_once_a_person_has_the_chat(app, fake_rasa,
                                                                                           make_agent):
    from handoff.routing import presence

    relay = app.extensions["relay"]
    presence.connected(make_agent()["id"])
    cid = conversations.open_for_visitor("visitor-waited-1")
    conversations.post_customer_message(cid, "where is my parcel?", "waited-1")
    lock = relay._locks[cid]
    lock.acquire()  # the bot is still answering the customer's previous question
    waiting = threading.Thread(target=relay.relay, args=(cid, "where is my parcel?", True))
    waiting.start()
    # Meanwhile the chat goes to a person.
    assert conversations.request_handoff(cid, "customer_request")["status"] == "queued"
    lock.release()
    waiting.join(10)
    assert fake_rasa.messages_from(cid) == []
    assert [sender for sender, _ in transcript(cid)] == ["customer"]


def test_a_new_message_is_handed_to_the_bot_before_it_is_published_and_a_resent_one_is_not(app, monkeypatch):
    happened = []
    monkeypatch.setattr(conversations.realtime, "publish_message", lambda message: happened.append("published"))
    cid = conversations.open_for_visitor("visitor-order-1")
    message, created, status = conversations.post_customer_message(
        cid, "hello", "order-1", stored=lambda m, s: happened.append(("stored", m["text"], s)))
    assert created and status == "bot"
    assert happened == [("stored", "hello", "bot"), "published"]
    happened.clear()
    again, created, _ = conversations.post_customer_message(
        cid, "hello", "order-1", stored=lambda m, s: happened.append("stored"))
    assert not created and again["id"] == message["id"]
    assert happened == [], "a message sent twice is asked of the bot once"
