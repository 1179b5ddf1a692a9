"""The agent's workbench as customers and colleagues meet it: names on replies, the queue card's need,
ratings after resolve, canned replies."""
from __future__ import annotations

import pytest

from handoff.chat import canned_replies, conversations
from handoff.errors import ServiceError
from tests.fakes import wait_for


def _accepted(customer_socket, agent_socket, api, lines=("Hi there!", "My invoice shows the wrong address")):
    console = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    for i, line in enumerate(lines):
        chat.emit("customer_message", {"text": line, "client_msg_id": f"d{i}"})
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    return chat, console, cid


def test_the_queue_card_says_what_the_customer_needs_not_the_bots_last_line(customer_socket, agent_socket, api):
    _, console, cid = _accepted(customer_socket, agent_socket, api)
    card = wait_for(lambda: [q for q in console.of("queue") if q["conversations"]])[-1]["conversations"][0]
    assert card["need"] == "My invoice shows the wrong address"
    preview = console.emit("open", {"conversation_id": cid})
    assert preview["ok"] and preview["conversation"]["messages"][0]["text"] == "Hi there!"


def test_replies_carry_the_agents_name_and_initials(customer_socket, agent_socket, api):
    chat, console, cid = _accepted(customer_socket, agent_socket, api)
    console.emit("accept", {"conversation_id": cid})
    assert console.emit("agent_message", {"conversation_id": cid, "text": "Hello!", "client_msg_id": "a1"})["ok"]
    live = wait_for(lambda: [m for m in chat.of("message") if m["sender"] == "agent"])[-1]
    assert live["agent"] == {"name": "Sam Agent", "initials": "SA"}
    stored = [m for m in conversations.history(cid)["messages"] if m["sender"] == "agent"][-1]
    assert stored["agent"] == {"name": "Sam Agent", "initials": "SA"}


@pytest.mark.parametrize("name, initials", [("Sam Agent", "SA"), ("Ada", "A"), ("Mary-Jane van Dyke", "MD"),
                                            ("", "?")])
def test_initials(name, initials):
    assert conversations.initials(name) == initials


def test_after_resolve_the_customer_rates_the_chat_and_the_agent_sees_it(customer_socket, agent_socket, api, staff,
                                                                         make_agent):
    chat, console, cid = _accepted(customer_socket, agent_socket, api)
    console.emit("accept", {"conversation_id": cid})
    early = chat.emit("rate", {"score": 5})
    assert not early["ok"] and "resolved" in early["error"]
    assert console.emit("resolve", {"conversation_id": cid})["ok"]
    assert not chat.emit("rate", {"score": 9})["ok"]
    ack = chat.emit("rate", {"score": 4, "comment": "Quick and kind"})
    assert ack == {"ok": True, "rating": {"score": 4, "comment": "Quick and kind"}}
    assert wait_for(lambda: console.of("rating"))[-1] == {"conversation_id": cid,
                                                         "rating": {"score": 4, "comment": "Quick and kind"}}
    history = conversations.history(cid)
    assert history["can_rate"] and history["rating"] == {"score": 4, "comment": "Quick and kind"}
    admin = staff(make_agent("Ada Admin", role="admin"))
    page = admin.get(f"/admin/conversations/{cid}").get_data(as_text=True)
    assert "4 out of 5 · “Quick and kind”" in page


def test_canned_replies_shared_and_personal(app, make_agent):
    sam, kim = make_agent(), make_agent("Kim Agent")
    canned_replies.create("/Hello", "Hi {customer_name}, I'm {agent_name}.", None)
    canned_replies.create("hello", "Hey {customer_name}!", sam["id"])
    canned_replies.create("refund", "Your ticket {ticket_number} is with billing.", kim["id"])
    assert [(r["shortcut"], r["shared"]) for r in canned_replies.for_agent(sam["id"])] == [("hello", False)]
    assert [(r["shortcut"], r["shared"]) for r in canned_replies.for_agent(kim["id"])] == [("hello", True),
                                                                                         ("refund", False)]
    with pytest.raises(ServiceError, match="Unknown variable"):
        canned_replies.create("x", "Hi {name}", None)
    with pytest.raises(ServiceError, match="already"):
        canned_replies.create("hello", "again", None)
    with pytest.raises(ServiceError, match="shortcut"):
        canned_replies.create("two words", "x", None)


def test_canned_reply_routes_check_who_is_asking(staff, make_agent):
    sam = staff()
    assert sam.post("/admin/canned", data={"shortcut": "hi", "text": "Hi"}).status_code == 403
    assert sam.post("/console/canned", data={"shortcut": "mine", "text": "Mine"}).status_code == 302
    assert [r["shortcut"] for r in sam.get("/console/canned").get_json()["replies"]] == ["mine"]
    admin = staff(make_agent("Ada Admin", role="admin"))
    assert admin.post("/admin/canned", data={"shortcut": "hi", "text": "Hi {customer_name}"}).status_code == 302
    shared_id = [r["id"] for r in canned_replies.shared()][0]
    mine_id = [r["id"] for r in sam.get("/console/canned").get_json()["replies"] if r["shortcut"] == "mine"][0]
    assert admin.post(f"/console/canned/{mine_id}/delete").status_code == 404  # nobody else's personal ones
    assert sam.post(f"/console/canned/{shared_id}/delete").status_code == 404
    assert admin.post(f"/console/canned/{shared_id}/delete", data={"back": "/admin/canned"}).status_code == 302
    assert canned_replies.shared() == []


def test_the_sidebar_shows_the_customer_their_page_browser_chats_and_tickets(app, agent_socket, make_agent, staff,
                                                                            api):
    from handoff.db import session_scope
    from handoff.models import Conversation
    from handoff.tickets import lifecycle

    sio = app.extensions["socketio"]
    sock = sio.test_client(app, namespace="/chat", auth={"visitor_id": "visitor-sidebar-0001",
                                                         "page": "https://shop.example/checkout"},
                           headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537"})
    cid = sock.get_received("/chat")[0]["args"][0]["conversation_id"]
    customer_id = conversations.customer_of(cid)
    with session_scope() as s:
        old = Conversation(customer_id=customer_id, status="resolved", rating=5)
        s.add(old)
        s.flush()
        old_id = old.id
    number = lifecycle.open_ticket(customer_id, "Card declined", "It was declined", "billing", source="portal",
                                   actor="customer")["number"]
    console = agent_socket()
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    assert console.emit("accept", {"conversation_id": cid})["ok"]

    profile = console.http.get(f"/console/conversations/{cid}/customer").get_json()
    assert profile["page"] == "https://shop.example/checkout"
    assert profile["browser"] == "Chrome on Android"
    assert profile["chats"] == [{"id": old_id, "status": "resolved", "created_at": profile["chats"][0]["created_at"],
                                 "rating": 5}]
    assert [(t["number"], t["subject"], t["visible"]) for t in profile["tickets"]] == [(number, "Card declined", True)]
    assert console.http.get(f"/console/conversations/{old_id}").status_code == 200  # one click from the sidebar

    kim = staff(make_agent("Kim Agent"))
    assert kim.get(f"/console/conversations/{cid}/customer").status_code == 403
    assert kim.get(f"/console/conversations/{old_id}").status_code == 403
    sock.disconnect("/chat")


@pytest.mark.parametrize("agent, name", [
    ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0", "Edge on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
    (None, None),
])
def test_browser_names(agent, name):
    assert conversations.browser_name(agent) == name


def test_the_customer_gets_the_chat_by_email_with_button_titles_and_agent_names(
        customer_socket, agent_socket, api, mailbox, deliver):
    chat, console, cid = _accepted(customer_socket, agent_socket, api)
    console.emit("accept", {"conversation_id": cid})
    console.emit("agent_message", {"conversation_id": cid, "text": "Fixed the address.", "client_msg_id": "a9"})
    assert not chat.emit("email_transcript", {"email": "not an address"})["ok"]
    ack = chat.emit("email_transcript", {"email": "ann@example.com"})
    assert ack == {"ok": True, "email": "ann@example.com"}
    deliver()
    [mail] = mailbox.to("ann@example.com")
    body = mailbox.text(mail)
    assert "You: My invoice shows the wrong address" in body and "Sam Agent: Fixed the address." in body
    for _ in range(3):
        chat.emit("email_transcript", {"email": "bob@example.com"})
    refused = chat.emit("email_transcript", {"email": "bob@example.com"})
    assert not refused["ok"] and "several times" in refused["error"]


def test_tags_on_chats_and_tickets_and_searching_by_them(customer_socket, agent_socket, api, staff, make_agent):
    from handoff.tickets import lifecycle

    chat, console, cid = _accepted(customer_socket, agent_socket, api)
    console.emit("accept", {"conversation_id": cid})
    console.emit("agent_message", {"conversation_id": cid, "text": "Updating the invoice now", "client_msg_id": "t1"})
    tagged = console.http.post(f"/console/conversations/{cid}/tags", data={"tags": "VIP, invoice_fix, vip"})
    assert tagged.get_json() == {"tags": ["vip", "invoice_fix"]}
    refused = console.http.post(f"/console/conversations/{cid}/tags", data={"tags": "no spaces allowed"},
                                headers={"Accept": "application/json"})
    assert refused.status_code == 400 and "not a tag" in refused.get_json()["message"]
    assert conversations.history(cid)["messages"]  # untouched by the refusal
    ticket = lifecycle.open_ticket(conversations.customer_of(cid), "Wrong address", "On the invoice", "billing",
                                   source="agent", actor="Sam Agent", conversation_id=cid)["number"]
    assert console.http.post(f"/console/tickets/{ticket}/tags", data={"tags": "invoice_fix"}).status_code == 302

    def found(http, **query):
        page = http.get("/console/search", query_string=query)
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        html = page.get_data(as_text=True)
        return f'data-conversation-id="{cid}"' in html, f'data-ticket-number="{ticket}"' in html

    assert found(console.http, tag="invoice_fix") == (True, True)
    assert found(console.http, tag="invoicexfix") == (False, False)  # "_" is no wildcard
    assert found(console.http, q="wrong address") == (True, True)
    assert found(console.http, q="never said") == (False, False)
    assert found(console.http, since="2000-01-01", until="2000-01-02") == (False, False)
    kim = staff(make_agent("Kim Agent"))
    assert found(kim, tag="vip")[0] is False  # chats Kim did not answer stay hidden from her
    assert kim.get("/console/search", query_string={"since": "yesterday"}).status_code == 400
