"""Agents' accounts: deactivation and log-out end their sessions and close their consoles at once."""
from __future__ import annotations

from sqlalchemy import func, select

from handoff import realtime
from handoff.db import session_scope
from handoff.models import AgentSocket
from tests.fakes import wait_for


def _queued_chat(customer_socket, api) -> int:
    chat = customer_socket()
    chat.emit("customer_message", {"text": "my name is Ann Example, ann@example.com", "client_msg_id": "m1"})
    cid = chat.of("history")[0]["conversation_id"]
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).get_json()["status"] \
        == "queued"
    return cid


def test_deactivating_an_agent_closes_their_consoles_at_once(app, make_agent, agent_socket, staff,
                                                            customer_socket, api):
    admin = staff(make_agent("Ada Admin", role="admin"))
    sam = make_agent("Sam Agent")
    console, second_tab = agent_socket(sam), agent_socket(sam)
    tom = agent_socket(make_agent("Tom Agent"))  # someone stays online, so chats still queue
    resp = admin.post(f"/admin/agents/{sam['id']}/active", data={"active": "0"})
    assert resp.status_code == 302
    assert not console.sock.is_connected("/agent") and not second_tab.sock.is_connected("/agent")
    # Closed on the server too: the queue, with customers' names and emails, now reaches Tom alone.
    manager = app.extensions["socketio"].server.manager
    assert len(list(manager.get_participants("/agent", "agents"))) == 1
    cid = _queued_chat(customer_socket, api)
    assert wait_for(lambda: [q for q in tom.of("queue") if cid in [c["id"] for c in q["conversations"]]])
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(AgentSocket).where(AgentSocket.agent_id == sam["id"])) == 0


def test_a_deactivated_agents_console_that_escaped_the_disconnect_can_do_nothing(
        app, make_agent, agent_socket, staff, customer_socket, api, monkeypatch):
    admin = staff(make_agent("Ada Admin", role="admin"))
    sam = make_agent("Sam Agent")
    console = agent_socket(sam)
    cid = _queued_chat(customer_socket, api)
    # As if the console were held by a process the disconnect request never reached.
    monkeypatch.setattr(realtime, "disconnect", lambda sid, namespace: None, raising=False)
    admin.post(f"/admin/agents/{sam['id']}/active", data={"active": "0"})
    assert console.sock.is_connected("/agent")
    ack = console.emit("open", {"conversation_id": cid})
    assert ack["ok"] is False and "log in" in ack["error"]
    assert "Ann Example" not in str(ack)


def test_log_out_ends_copies_of_the_staff_session_and_closes_the_console(app, make_agent, agent_socket):
    console = agent_socket(make_agent("Sam Agent"))
    thief = app.test_client()
    thief.set_cookie("session", console.http.get_cookie("session").value)
    assert thief.get("/console").status_code == 200
    console.http.post("/logout")
    assert thief.get("/console").status_code == 302
    assert not console.sock.is_connected("/agent")
    sock = app.extensions["socketio"].test_client(app, namespace="/agent", flask_test_client=thief)
    assert not sock.is_connected("/agent")
