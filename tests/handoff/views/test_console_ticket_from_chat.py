"""An agent opens a ticket from a live chat in the console: what the form starts with, and what follows."""
from __future__ import annotations

from sqlalchemy import select

from handoff.db import session_scope
from handoff.models import Ticket
from tests.fakes import wait_for

JSON = {"Accept": "application/json"}


def _chat_with_agent(customer_socket, agent_socket, api, lines):
    console = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    for i, line in enumerate(lines):
        assert chat.emit("customer_message", {"text": line, "client_msg_id": f"m{i}"})["ok"]
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).status_code == 200
    assert console.emit("accept", {"conversation_id": cid})["ok"]
    return chat, console, cid


LINES = ["Hi there!", "/request_human", "I was charged twice for my last order on my card", "ann@example.com"]


def test_the_draft_reads_the_customers_need_and_predicts_the_category(customer_socket, agent_socket, api):
    _, console, cid = _chat_with_agent(customer_socket, agent_socket, api, LINES)
    draft = console.http.get(f"/console/conversations/{cid}/ticket-draft", headers=JSON).get_json()
    assert draft["subject"] == "I was charged twice for my last order on my card"
    assert draft["description"] == "I was charged twice for my last order on my card"
    assert draft["category"] == "billing"
    assert draft["recent"] == []


def test_opening_tells_the_customer_in_the_chat_and_answers_json(customer_socket, agent_socket, api):
    chat, console, cid = _chat_with_agent(customer_socket, agent_socket, api, LINES)
    resp = console.http.post(f"/console/conversations/{cid}/ticket", headers=JSON,
                             data={"subject": "Charged twice", "description": "Twice on the card",
                                   "category": "billing", "priority": "high"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    number = resp.get_json()["ticket"]["number"]
    assert wait_for(lambda: [t for t in chat.texts("system") if f"ticket #{number}" in t])
    with session_scope() as s:
        t = s.get(Ticket, number)
        assert (t.subject, t.category, t.priority, t.assignee.name) == ("Charged twice", "billing", "high", "Sam Agent")


def test_no_category_chosen_opens_nothing(customer_socket, agent_socket, api):
    _, console, cid = _chat_with_agent(customer_socket, agent_socket, api, LINES)
    resp = console.http.post(f"/console/conversations/{cid}/ticket", headers=JSON,
                             data={"subject": "Charged twice", "description": "x"})
    assert resp.status_code == 400 and "category" in resp.get_json()["message"]
    with session_scope() as s:
        assert s.scalars(select(Ticket)).all() == []


def test_a_ticket_the_bot_opened_minutes_ago_is_shown_and_not_doubled_unasked(customer_socket, agent_socket, api):
    _, console, cid = _chat_with_agent(customer_socket, agent_socket, api, LINES)
    bot = api.post(f"/api/conversations/{cid}/tickets", {"description": "Charged twice", "category": "billing"})
    assert bot.status_code in (200, 201), bot.get_data(as_text=True)
    bot_number = bot.get_json()["number"]
    draft = console.http.get(f"/console/conversations/{cid}/ticket-draft", headers=JSON).get_json()
    assert [t["number"] for t in draft["recent"]] == [bot_number]

    form = {"subject": "Charged twice", "description": "x", "category": "billing"}
    refused = console.http.post(f"/console/conversations/{cid}/ticket", headers=JSON, data=form)
    assert refused.status_code == 409 and f"#{bot_number}" in refused.get_json()["message"]
    with session_scope() as s:
        assert len(s.scalars(select(Ticket)).all()) == 1
    confirmed = console.http.post(f"/console/conversations/{cid}/ticket", headers=JSON,
                                  data={**form, "confirm_duplicate": "1"})
    assert confirmed.status_code == 200


def test_another_agents_chat_is_not_theirs_to_ticket(customer_socket, agent_socket, make_agent, staff, api):
    _, _, cid = _chat_with_agent(customer_socket, agent_socket, api, LINES)
    kim = staff(make_agent("Kim Agent"))
    assert kim.get(f"/console/conversations/{cid}/ticket-draft", headers=JSON).status_code == 403
    resp = kim.post(f"/console/conversations/{cid}/ticket", headers=JSON,
                    data={"subject": "x", "description": "y", "category": "billing"})
    assert resp.status_code == 403
