"""Outside business hours a handoff is not queued: the customer's widget hears when a person is back and is
offered a ticket, agents' queues stay empty; inside them (or with no hours set) chats queue as before."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from handoff.chat import conversations
from handoff.db import session_scope
from handoff.models import Conversation, Handoff, Team, utcnow
from handoff.routing import calendars, catalog
from handoff.routing.hours import DAYS
from tests.fakes import wait_for


def _closed_now() -> tuple[dict, datetime]:
    """Desk hours closed at this moment: open one hour, three days from now (UTC); and when that opens."""
    opens = (utcnow() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {"tz": "UTC", DAYS[opens.weekday()]: "09:00-10:00"}, opens


def _asks_for_a_person(customer_socket, api):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "my parcel is lost", "client_msg_id": "b1"})
    wait_for(lambda: chat.texts("bot"))
    return chat, cid, api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})


def test_outside_hours_the_widget_hears_when_a_person_is_back_and_nothing_is_queued(customer_socket, agent_socket,
                                                                                    api):
    agent = agent_socket()  # someone is online: only the hours keep the chat from the queue
    form, opens = _closed_now()
    calendars.save(None, form)

    chat, cid, resp = _asks_for_a_person(customer_socket, api)

    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "closed"
    assert body["closed"]["back_at"] == opens.isoformat(timespec="milliseconds") + "Z"
    status = wait_for(lambda: [s for s in chat.of("conversation_status") if s.get("closed")])[-1]
    assert status["status"] == "bot" and status["closed"]["back_at"] == body["closed"]["back_at"]
    assert f"{opens:%A} {opens.day} {opens:%B} at 09:00 (UTC time)" in status["closed"]["words"]
    assert conversations.status_of(cid) == "bot"
    assert all(not q["conversations"] for q in agent.of("queue"))
    with session_scope() as s:
        assert [h.outcome for h in s.query(Handoff).filter_by(conversation_id=cid)] == ["closed"]


def test_asking_in_words_outside_hours_offers_a_ticket_instead(customer_socket, agent_socket):
    agent_socket()
    calendars.save(None, _closed_now()[0])
    chat = customer_socket()
    chat.emit("customer_message", {"text": "can I talk to a human", "client_msg_id": "w1"})
    offer = wait_for(lambda: [m for m in chat.of("message") if m["sender"] == "system"])[-1]
    assert offer["text"].startswith("Our team is away right now. A person is back")
    assert offer["buttons"] == [{"title": "Open a ticket", "payload": "/open_ticket"}]


def test_inside_hours_and_with_no_hours_the_chat_is_queued(customer_socket, agent_socket, api):
    agent_socket()
    now = datetime.now(timezone.utc)
    calendars.save(None, {"tz": "UTC", DAYS[now.weekday()]: "00:00-24:00",
                          DAYS[(now.weekday() + 1) % 7]: "00:00-24:00"})
    _, _, resp = _asks_for_a_person(customer_socket, api)
    assert resp.get_json()["status"] == "queued"

    calendars.save(None, {})  # cleared: always open
    _, _, resp = _asks_for_a_person(customer_socket, api)
    assert resp.get_json()["status"] == "queued"


def test_a_teams_own_hours_apply_to_its_topics(app):
    team = catalog.create_team("Night desk")
    catalog.save_category("billing", "Billing", team["id"])
    calendars.save(None, _closed_now()[0])
    calendars.save(team["id"], {"tz": "Asia/Tokyo", **{d: "00:00-24:00" for d in DAYS}})
    with session_scope() as s:
        assert calendars.closed_until(s, team["id"], utcnow())[0] is False  # the team is open
        assert calendars.closed_until(s, None, utcnow())[0] is True  # the rest of the desk is not
        assert s.get(Team, team["id"]).hours["tz"] == "Asia/Tokyo"


def test_with_the_bot_down_outside_hours_a_ticket_is_opened_from_the_chat(customer_socket, agent_socket, fake_rasa):
    agent_socket()
    calendars.save(None, _closed_now()[0])
    fake_rasa.mode = "down"
    chat = customer_socket()
    chat.emit("customer_message", {"text": "help", "client_msg_id": "d1"})
    wait_for(lambda: chat.texts("system"))
    chat.emit("customer_message", {"text": "/human_handoff", "client_msg_id": "d2"})
    wait_for(lambda: [t for t in chat.texts("system") if "opened ticket #" in t])
    with session_scope() as s:
        assert s.query(Conversation).one().status == "bot"
