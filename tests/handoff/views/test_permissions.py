"""Every route, asked by someone who may not use it, refuses and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handoff.chat import conversations
from handoff.db import Base, session_scope

PUBLIC = {"/", "/login", "/logout", "/healthz", "/static/<path:filename>", "/vendor/<path:name>",
          "/portal/register", "/portal/login", "/portal/logout", "/portal/forgot", "/portal/reset/<token>",
          "/portal/verify/<token>"}


def snapshot() -> dict:
    with session_scope() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
                if t.name != "login_attempts"}


def routes(app, prefix: str):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix) and rule.rule not in PUBLIC:
            url = rule.rule
            for arg in rule.arguments:
                url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "1").replace(f"<path:{arg}>", "x")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def _ann_id() -> int:
    from handoff.models import Customer

    with session_scope() as s:
        return s.scalar(select(Customer.id).where(Customer.email == "ann@example.com"))


@pytest.fixture
def world(app, register, make_agent, staff):
    """Ann's ticket #1 and chat #1, an agent, and clients for every role."""
    ann = register()
    ann.post("/portal/new", data={"subject": "Ann's", "description": "private", "category": "billing"})
    conversations.open_for_customer(_ann_id())
    return {
        "anonymous": app.test_client(),
        "customer": register("bob@example.com", "Bob"),  # a different customer
        "agent": staff(make_agent("Sam Agent")),
        "admin": staff(make_agent("Ada Admin", role="admin")),
    }


@pytest.mark.parametrize("role", ["anonymous", "customer", "agent"])
def test_admin_routes_refuse_non_admins(app, world, role):
    before = snapshot()
    for method, url in routes(app, "/admin"):
        resp = world[role].open(url, method=method, data={"agent_id": "2", "name": "X", "email": "x@example.com",
                                                          "password": "longenough", "active": "0"})
        assert resp.status_code in (302, 403), (method, url, resp.status_code)
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]
    assert snapshot() == before


@pytest.mark.parametrize("role", ["anonymous", "customer"])
def test_console_routes_refuse_non_staff(app, world, role):
    before = snapshot()
    for method, url in routes(app, "/console"):
        resp = world[role].open(url, method=method, data={"text": "x", "status": "closed", "priority": "low"})
        assert resp.status_code in (302, 403), (method, url, resp.status_code)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["anonymous", "customer", "agent"])
def test_portal_ticket_routes_refuse_everyone_but_the_owner(app, world, role):
    before = snapshot()
    for method, url in routes(app, "/portal"):
        if role == "customer" and url in ("/portal/", "/portal/new", "/portal/chats", "/portal/password"):
            continue  # Bob's own pages
        resp = world[role].open(url, method=method, data={"text": "x", "rating": "5", "subject": "s",
                                                          "description": "d", "category": "billing",
                                                          "current_password": "x", "new_password": "y" * 9,
                                                          "new_password2": "y" * 9})
        assert resp.status_code in (302, 400, 404), (role, method, url, resp.status_code)
        assert "private" not in resp.get_data(as_text=True)
    after = snapshot()
    assert after == before


@pytest.mark.parametrize("role", ["anonymous", "customer", "agent", "admin"])
def test_bot_api_needs_the_service_token_whoever_is_logged_in(app, world, role):
    before = snapshot()
    for method, url in routes(app, "/api"):
        resp = world[role].open(url, method=method, json={"reason": "customer_request", "description": "d",
                                                          "category": "billing", "email": "e@example.com"})
        assert resp.status_code == 401, (method, url)
    assert snapshot() == before


@pytest.mark.parametrize("event, payload", [
    ("accept", {"conversation_id": 1}), ("open", {"conversation_id": 1}),
    ("agent_message", {"conversation_id": 1, "text": "x", "client_msg_id": "a"}),
    ("resolve", {"conversation_id": 1}), ("hand_back", {"conversation_id": 1}),
    ("typing", {"conversation_id": 1, "typing": True}),
])
def test_agent_socket_events_from_someone_elses_chat_change_nothing(app, world, customer_socket, agent_socket,
                                                                    make_agent, api, event, payload):
    owner = agent_socket(make_agent("Kim Agent"))
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    owner.emit("accept", {"conversation_id": cid})
    intruder = agent_socket(make_agent("Lee Agent"))
    before = snapshot()
    ack = intruder.emit(event, {**payload, "conversation_id": cid})
    if isinstance(ack, dict):  # typing has no acknowledgement
        assert ack["ok"] is False
    assert snapshot() == before
    assert not [t for t in chat.of("typing") if t["sender"] == "agent"]
