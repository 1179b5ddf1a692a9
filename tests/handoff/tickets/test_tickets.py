"""The ticket lifecycle over HTTP, from the customer's side and the agent's, with the mail that results."""
from __future__ import annotations

from datetime import timedelta

import pytest

from handoff.models import utcnow
from handoff.tickets import automations, queries


def open_in_portal(http, subject="Blender arrived broken", description="The jar is cracked.", category="orders"):
    resp = http.post("/portal/new", data={"subject": subject, "description": description, "category": category})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def subjects(mailbox, to):
    return [m["Subject"] for m in mailbox.to(to)]


def test_whole_lifecycle_with_emails(register, staff, make_agent, mailbox, deliver):
    ann = register()
    number = open_in_portal(ann)
    deliver()
    assert subjects(mailbox, "ann@example.com") == [f"[#{number}] We received your request: Blender arrived broken"]

    admin = staff(make_agent("Ada Admin", role="admin"))
    sam = make_agent("Sam Agent")
    assert admin.post(f"/admin/tickets/{number}/assign", data={"agent_id": sam["id"]}).status_code == 302
    deliver(now=utcnow() + timedelta(seconds=61))  # the customer's "who looks after it" waits for a reassignment
    assert "Sam Agent is looking after your request" in subjects(mailbox, "ann@example.com")[-1]
    assert subjects(mailbox, "sam@example.com") == [f"[#{number}] Assigned to you: Blender arrived broken"]

    agent = staff(sam)
    agent.post(f"/console/tickets/{number}/reply", data={"text": "We'll send a new jar today."})
    agent.post(f"/console/tickets/{number}/reply", data={"text": "Customer is a VIP, expedite", "internal": "1"})
    deliver()
    reply_mail = mailbox.to("ann@example.com")[-1]
    assert "We'll send a new jar today." in mailbox.text(reply_mail)
    assert all("VIP" not in mailbox.text(m) for m in mailbox.messages)
    page = ann.get(f"/portal/tickets/{number}").get_data(as_text=True)
    assert "We&#39;ll send a new jar today." in page and "VIP" not in page

    agent.post(f"/console/tickets/{number}/status", data={"status": "resolved"})
    deliver()
    resolved = mailbox.to("ann@example.com")[-1]
    assert resolved["Subject"].startswith(f"[#{number}] Resolved") and "#rate" in mailbox.text(resolved)
    assert resolved.get_body(preferencelist=("html",)) is not None

    assert ann.post(f"/portal/tickets/{number}/rate", data={"rating": "5", "comment": "Quick!"}).status_code == 302
    detail = queries.for_customer(number, _customer_id(number))
    assert detail["rating"] == 5 and detail["rating_comment"] == "Quick!"

    ann.post(f"/portal/tickets/{number}/reply", data={"text": "Actually the lid is missing too"})
    assert queries.for_customer(number, _customer_id(number))["status"] == "open"


def _customer_id(number):
    from handoff.db import session_scope
    from handoff.models import Ticket

    with session_scope() as s:
        return s.get(Ticket, number).customer_id


def test_closed_ticket_stays_closed_and_a_reply_opens_a_linked_follow_up(register, staff):
    ann = register()
    number = open_in_portal(ann)
    agent = staff()
    agent.post(f"/console/tickets/{number}/take")
    agent.post(f"/console/tickets/{number}/status", data={"status": "closed"})
    resp = ann.post(f"/portal/tickets/{number}/reply", data={"text": "It broke again"})
    follow_up = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert follow_up != number
    assert queries.for_customer(number, _customer_id(number))["status"] == "closed"
    assert queries.for_customer(follow_up, _customer_id(number))["parent_id"] == number
    agent.post(f"/console/tickets/{number}/status", data={"status": "open"})
    assert queries.for_customer(number, _customer_id(number))["status"] == "closed"


def test_ratings_only_once_resolved_and_only_1_to_5(register, staff):
    ann = register()
    number = open_in_portal(ann)
    ann.post(f"/portal/tickets/{number}/rate", data={"rating": "4"})
    assert queries.for_customer(number, _customer_id(number))["rating"] is None
    staff().post(f"/console/tickets/{number}/status", data={"status": "resolved"})
    for bad in ("0", "6", "five", ""):
        ann.post(f"/portal/tickets/{number}/rate", data={"rating": bad})
        assert queries.for_customer(number, _customer_id(number))["rating"] is None


def test_customers_see_only_their_own_tickets_and_chats(register):
    ann, bob = register(), register("bob@example.com", "Bob")
    number = open_in_portal(ann, subject="Ann's secret order")
    for method, path, data in [("get", f"/portal/tickets/{number}", None),
                               ("post", f"/portal/tickets/{number}/reply", {"text": "hijack"}),
                               ("post", f"/portal/tickets/{number}/rate", {"rating": "1"})]:
        resp = getattr(bob, method)(path, data=data)
        assert resp.status_code == 404 and "secret" not in resp.get_data(as_text=True)
    assert "secret" not in bob.get("/portal/").get_data(as_text=True)
    events = queries.for_customer(number, _customer_id(number))["events"]
    assert [e["kind"] for e in events] == ["created"]


@pytest.mark.parametrize("path", ["/console/tickets", "/admin/tickets", "/admin/mail", "/console/tickets/1"])
def test_customers_cannot_open_staff_pages(register, path):
    resp = register().get(path)
    assert resp.status_code in (302, 403, 404)
    assert resp.status_code != 200


def test_agents_see_the_queue_and_their_own_not_others(app, register, staff, make_agent):
    ann = register()
    mine, theirs = open_in_portal(ann, "mine"), open_in_portal(ann, "theirs")
    sam, kim = staff(make_agent("Sam Agent")), staff(make_agent("Kim Agent"))
    sam.post(f"/console/tickets/{mine}/take")
    kim.post(f"/console/tickets/{theirs}/take")
    assert sam.get(f"/console/tickets/{theirs}").status_code == 404
    for action, data in [("reply", {"text": "x"}), ("status", {"status": "closed"}), ("take", {})]:
        assert sam.post(f"/console/tickets/{theirs}/{action}", data=data).status_code == 404
    assert queries.for_customer(theirs, _customer_id(theirs))["status"] == "open"
    assert sam.post(f"/admin/tickets/{theirs}/assign", data={"agent_id": "none"}).status_code == 403
    app.config["AGENTS_SEE_ALL"] = True
    assert sam.get(f"/console/tickets/{theirs}").status_code == 200


def test_search_and_filters(register, staff, make_agent):
    ann = register()
    first = open_in_portal(ann, "Router drops wifi", category="technical")
    open_in_portal(ann, "Invoice wrong", category="billing")
    admin = staff(make_agent("Ada Admin", role="admin"))
    assert [t["number"] for t in queries.search(q="wifi")] == [first]
    assert [t["number"] for t in queries.search(q=f"#{first}")] == [first]
    assert len(queries.search(q="ann@example.com")) == 2
    assert [t["subject"] for t in queries.search(category="billing")] == ["Invoice wrong"]
    page = admin.get("/admin/tickets?category=technical").get_data(as_text=True)
    assert "Router drops wifi" in page and "Invoice wrong" not in page
    assert admin.get("/admin/tickets?since=not-a-date").status_code == 400


def test_resolved_tickets_close_themselves_and_pending_ones_get_one_reminder(register, staff, mailbox, deliver):
    ann = register()
    resolved, pending = open_in_portal(ann, "resolved one"), open_in_portal(ann, "pending one")
    agent = staff()
    agent.post(f"/console/tickets/{resolved}/status", data={"status": "resolved"})
    agent.post(f"/console/tickets/{pending}/status", data={"status": "pending"})
    deliver()
    before = len(mailbox.to("ann@example.com"))
    now = utcnow()

    assert automations.run(now + timedelta(days=1)) == {"closed": 0, "reminded": 0, "resolved": 0}
    later = now + timedelta(days=4, hours=1)
    assert automations.run(later) == {"closed": 1, "reminded": 1, "resolved": 0}
    assert automations.run(later) == {"closed": 0, "reminded": 0, "resolved": 0}  # nothing twice
    deliver(now=later)
    new = subjects(mailbox, "ann@example.com")[before:]
    assert sorted(new) == sorted([f"[#{resolved}] Closed: resolved one", f"[#{pending}] We're waiting for your reply"])

    assert automations.run(later + timedelta(days=4, hours=1))["resolved"] == 1
    assert queries.for_customer(pending, _customer_id(pending))["status"] == "resolved"
    assert queries.for_customer(resolved, _customer_id(resolved))["status"] == "closed"


def test_agent_opens_a_ticket_for_a_chat_and_stays_in_the_console(customer_socket, agent_socket, api):
    console = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "The app logs me out every hour", "client_msg_id": "x1"})
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    assert console.emit("accept", {"conversation_id": cid})["ok"]
    resp = console.http.post(f"/console/conversations/{cid}/ticket", data={"subject": "Logged out hourly",
                                                                           "category": "technical"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    assert resp.headers["Location"] == "/console"
    found = queries.search(q="Logged out hourly")
    assert found and found[0]["assignee"] == "Sam Agent"
    assert "The app logs me out every hour" in queries.for_customer(found[0]["number"],
                                                                    _customer_id(found[0]["number"]))["description"]


def test_deactivated_agents_tickets_return_to_the_unassigned_queue(register, staff, make_agent):
    ann = register()
    number = open_in_portal(ann)
    sam = make_agent()
    staff(sam).post(f"/console/tickets/{number}/take")
    admin = staff(make_agent("Ada Admin", role="admin"))
    assert admin.post(f"/admin/agents/{sam['id']}/active", data={"active": "0"}).status_code == 302
    assert [t["number"] for t in queries.search(assignee="none", status="active")] == [number]
    again = sam["email"]
    from tests.handoff.conftest import PASSWORD
    assert admin.application.test_client().post("/login", data={"email": again, "password": PASSWORD}).status_code == 401


def test_staff_see_the_chat_transcript_as_text(customer_socket, agent_socket, staff, make_agent, api):
    console = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "<img src=x onerror=alert(1)> my bill", "client_msg_id": "h1"})
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    console.emit("accept", {"conversation_id": cid})
    console.http.post(f"/console/conversations/{cid}/ticket", data={"subject": "Bill", "category": "billing"})
    number = queries.search(q="Bill")[0]["number"]
    admin = staff(make_agent("Ada Admin", role="admin"))
    for page in (console.http.get(f"/console/tickets/{number}"), admin.get(f"/admin/conversations/{cid}")):
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "&lt;img src=x onerror=alert(1)&gt; my bill" in html and "<img src=x" not in html
