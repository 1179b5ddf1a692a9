"""Who may open a socket from which page (Origin), and how fast anyone may send on it."""
from __future__ import annotations

import json
import threading
import time

import pytest

from handoff.db import session_scope
from handoff.models import Message
from tests.handoff.conftest import Inbox, service_app

OWN = "http://localhost"  # the test client's host
SHOP = "https://shop.example"


def _stored(sender: str) -> int:
    with session_scope() as s:
        return s.query(Message).filter_by(sender=sender).count()


def _sock(app, namespace, http=None, origin=None, **kw):
    headers = {"Origin": origin} if origin else {}
    return app.extensions["socketio"].test_client(app, namespace=namespace, flask_test_client=http,
                                                  headers=headers, **kw)


def test_another_sites_page_gets_an_anonymous_chat_never_the_customers(app, register):
    ann = register()
    mine = Inbox(_sock(app, "/chat", ann, OWN), "/chat")
    mine.emit("customer_message", {"text": "my private order 1234", "client_msg_id": "p1"})
    foreign = _sock(app, "/chat", ann, SHOP, auth={"visitor_id": "shop-visitor-0001"})
    assert foreign.is_connected("/chat")
    history = Inbox(foreign, "/chat").of("history")[0]
    assert history["conversation_id"] != mine.of("history")[0]["conversation_id"]
    assert history["messages"] == []
    # Without a visitor id a foreign page has no identity of its own: refused, not let in as the cookie's owner.
    assert not _sock(app, "/chat", ann, SHOP).is_connected("/chat")


def test_the_console_socket_takes_only_the_services_own_pages(app, agent_socket):
    http = agent_socket().http
    assert not _sock(app, "/agent", http, SHOP).is_connected("/agent")
    assert _sock(app, "/agent", http, OWN).is_connected("/agent")


@pytest.mark.parametrize("allowed", [["https://shop.example"], ["*"]])
def test_engineio_takes_the_services_own_origin_whatever_the_list(tmp_path, fake_rasa, allowed):
    """With a list set, the console's own origin used to be refused (it stayed on "Reconnecting…")."""
    app = service_app(f"sqlite:///{tmp_path / 'o.db'}", fake_rasa, ALLOWED_ORIGINS=allowed)
    http = app.test_client()
    path = "/socket.io/?EIO=4&transport=polling"
    for origin in (OWN, "https://public.example"):
        assert http.get(path, headers={"Origin": OWN}).status_code == 200, origin
    shop = http.get(path, headers={"Origin": SHOP})
    assert shop.status_code == 200 and shop.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in shop.headers  # never the customer's cookie
    evil = http.get(path, headers={"Origin": "https://evil.example"})
    assert (evil.status_code == 200) is ("*" in allowed)


def test_public_url_is_an_own_origin(tmp_path, fake_rasa, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://help.example.com/")
    app = service_app(f"sqlite:///{tmp_path / 'o.db'}", fake_rasa, ALLOWED_ORIGINS=[SHOP])
    resp = app.test_client().get("/socket.io/?EIO=4&transport=polling",
                                 headers={"Origin": "https://help.example.com"})
    assert resp.status_code == 200


def test_a_customer_flood_is_refused_after_the_burst_and_nothing_more_is_stored(customer_socket, fake_rasa):
    chat = customer_socket()
    acks = [chat.emit("customer_message", {"text": f"spam {i}", "client_msg_id": f"s{i}"}) for i in range(30)]
    assert [a["ok"] for a in acks] == [True] * 10 + [False] * 20
    assert "too fast" in acks[-1]["error"] and "not sent" in acks[-1]["error"]
    assert _stored("customer") == 10


def test_one_visitor_in_many_tabs_shares_one_allowance(customer_socket):
    tabs = [customer_socket("visitor-with-tabs-1") for _ in range(4)]
    acks = [tab.emit("customer_message", {"text": f"m{i}", "client_msg_id": f"t{i}-{n}"})
            for n, tab in enumerate(tabs) for i in range(8)]
    assert sum(a["ok"] for a in acks) == 20 and _stored("customer") == 20


def test_an_agent_flood_is_refused_too(agent_socket, customer_socket, api):
    agent = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"}).status_code == 200
    assert agent.emit("accept", {"conversation_id": cid})["ok"]
    acks = [agent.emit("agent_message", {"conversation_id": cid, "text": f"r{i}", "client_msg_id": f"a{i}"})
            for i in range(40)]
    assert sum(a["ok"] for a in acks) == 30 and "too fast" in acks[-1]["error"]
    assert _stored("agent") == 30


def test_an_oversized_long_polling_post_gets_413_and_the_session_lives_on(app):
    """Engine.IO used to close the whole session on a POST over its limit, with no answer to show."""
    http = app.test_client()
    handshake = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": OWN})
    sid = json.loads(handshake.get_data(as_text=True)[1:])["sid"]
    path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    big = http.post(path, data="4" + "x" * (70 * 1024), headers={"Origin": OWN, "Content-Type": "text/plain"})
    assert big.status_code == 413
    assert "too large" in big.get_json()["message"] and "64 KB" in big.get_json()["message"]
    # The session was not touched: a pong on it is still taken.
    assert http.post(path, data="3", headers={"Origin": OWN, "Content-Type": "text/plain"}).status_code == 200


def test_a_full_process_refuses_new_chats_with_busy_and_keeps_serving_the_open_ones(tmp_path, fake_rasa):
    """Real Socket.IO clients over HTTP: the widget shows the refusal's sentence and a ticket link."""
    import socketio
    from werkzeug.serving import make_server

    app = service_app(f"sqlite:///{tmp_path / 'full.db'}", fake_rasa, MAX_CHAT_SOCKETS=2)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    clients = []
    try:
        for i in range(2):
            client = socketio.Client(reconnection=False)
            client.connect(url, namespaces=["/chat"], transports=["polling"], auth={"visitor_id": f"full-visitor-{i}"})
            clients.append(client)
        refused, errors = socketio.Client(reconnection=False), []
        refused.on("connect_error", lambda data=None: errors.append(data), namespace="/chat")
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(url, namespaces=["/chat"], transports=["polling"], auth={"visitor_id": "full-visitor-2"},
                            wait_timeout=5)
        assert errors and errors[0]["data"] == {"reason": "busy"} and "busy" in errors[0]["message"]
        ack = clients[0].call("customer_message", {"text": "still here?", "client_msg_id": "full-1"},
                              namespace="/chat", timeout=10)
        assert ack["ok"] is True
        load = app.test_client().get("/healthz").get_json()["load"]
        assert load == {"chat_sockets": 2, "chat_socket_limit": 2}
        clients.pop().disconnect()  # a place frees up: the next customer gets in
        time.sleep(0.5)
        again = socketio.Client(reconnection=False)
        again.connect(url, namespaces=["/chat"], transports=["polling"], auth={"visitor_id": "full-visitor-2"})
        clients.append(again)
    finally:
        for client in clients:
            client.disconnect()
        server.shutdown()
