"""The bot's HTTP API: what the custom actions can ask, and what they cannot."""
from __future__ import annotations

import pytest

from handoff.chat import conversations
from tests.handoff.conftest import confirmation_link


@pytest.fixture
def cid(app):
    return conversations.open_for_visitor("api-visitor-0001")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-service-token"}])
def test_every_api_route_needs_the_service_token(client, cid, headers):
    for method, path in [("get", "/api/faq/search?q=refund"), ("get", "/api/faq/1"), ("get", "/api/categories"),
                         ("get", f"/api/conversations/{cid}/customer"),
                         ("post", f"/api/conversations/{cid}/handoff"),
                         ("post", f"/api/conversations/{cid}/tickets"),
                         ("get", f"/api/conversations/{cid}/tickets/1")]:
        resp = getattr(client, method)(path, headers=headers, json={})
        assert resp.status_code == 401, path
        assert "service token" in resp.get_json()["message"]


def test_faq_search_answers_a_confident_match(seeded, api):
    body = api.get("/api/faq/search", query_string={"q": "how long does a refund take"}).get_json()
    assert body["decision"] == "answer"
    top = body["matches"][0]
    assert "refund" in top["answer"].lower() and 0 < top["score"] <= 1
    assert api.get(f"/api/faq/{top['faq_id']}").get_json()["answer"] == top["answer"]


def test_faq_search_admits_what_it_does_not_know(seeded, api):
    body = api.get("/api/faq/search", query_string={"q": "who won the football match yesterday"}).get_json()
    assert body["decision"] == "unknown"


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "x" * 1001}])
def test_faq_search_rejects_bad_queries(seeded, api, query):
    resp = api.get("/api/faq/search", query_string=query)
    assert resp.status_code == 400 and resp.get_json()["message"]


def test_an_faq_change_reaches_the_bot_without_restart(seeded, api, tmp_path):
    from handoff.knowledge import faqs

    q = "can i pay with dogecoin"
    before = api.get("/api/faq/search", query_string={"q": q}).get_json()["matches"]
    assert all("cryptocurrencies" not in m["answer"] for m in before)
    (tmp_path / "a.csv").write_text("answer_id,answer,category\ncrypto,We do not accept cryptocurrencies.,billing\n")
    (tmp_path / "q.csv").write_text("question,answer_id\nCan I pay with dogecoin?,crypto\n"
                                    "Do you accept crypto currencies like bitcoin?,crypto\n")
    faqs.import_csv(tmp_path / "a.csv", tmp_path / "q.csv")
    body = api.get("/api/faq/search", query_string={"q": q}).get_json()
    assert body["decision"] == "answer" and body["matches"][0]["answer"] == "We do not accept cryptocurrencies."


def test_ticket_opened_by_the_bot_and_its_status(api, cid):
    resp = api.post(f"/api/conversations/{cid}/tickets",
                    {"description": "Parcel arrived damaged", "category": "orders", "email": "Ann@Example.com"})
    assert resp.status_code == 201
    number = resp.get_json()["number"]
    status = api.get(f"/api/conversations/{cid}/tickets/{number}").get_json()
    assert status == {"number": number, "status": "new", "subject": "Parcel arrived damaged",
                      "category": "orders", "priority": "normal", "assignee": None}
    assert api.get(f"/api/conversations/{cid}/customer").get_json()["email"] == "ann@example.com"


def test_ticket_status_only_for_the_customers_own_tickets(api, cid):
    other = conversations.open_for_visitor("api-visitor-other")
    number = api.post(f"/api/conversations/{other}/tickets",
                      {"description": "private matter", "category": "billing"}).get_json()["number"]
    resp = api.get(f"/api/conversations/{cid}/tickets/{number}")
    assert resp.status_code == 404
    assert "private" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("body, status", [
    ({"description": "x", "category": "gardening"}, 400),
    ({"description": "", "category": "billing"}, 400),
    ({"description": "help", "category": "billing", "email": "not-an-email"}, 400),
    (["not", "an", "object"], 400),
])
def test_bad_ticket_requests_are_refused_and_store_nothing(api, cid, body, status):
    resp = api.post(f"/api/conversations/{cid}/tickets", body)
    assert resp.status_code == status and resp.get_json()["message"]
    assert api.get(f"/api/conversations/{cid}/tickets/1").status_code == 404


def test_unknown_conversation_and_reason(api, cid):
    assert api.get("/api/conversations/424242/customer").status_code == 404
    resp = api.post(f"/api/conversations/{cid}/handoff", {"reason": "bored"})
    assert resp.status_code == 400 and "customer_request" in resp.get_json()["message"]
    assert api.get(f"/api/conversations/{cid}/tickets/abc").status_code == 400


def test_contact_email_for_an_anonymous_visitor(api, cid):
    assert api.post(f"/api/conversations/{cid}/contact", {"email": "bad"}).status_code == 400
    assert api.post(f"/api/conversations/{cid}/contact", {"email": "bo@example.com"}).get_json() == {"ok": True}
    assert api.get(f"/api/conversations/{cid}/customer").get_json()["email"] == "bo@example.com"


def test_the_bot_cannot_change_a_registered_customers_email(app, api):
    from handoff.people import customers

    with app.app_context():
        customers.register("reg@example.com", "a long password", None, "http://localhost")
        account = customers.verify_email(confirmation_link("reg@example.com").rsplit("/", 1)[1])
    cid = conversations.open_for_customer(account["id"])
    assert api.post(f"/api/conversations/{cid}/contact", {"email": "evil@example.com"}).status_code == 200
    resp = api.post(f"/api/conversations/{cid}/tickets",
                    {"description": "help me", "category": "billing", "email": "evil@example.com"})
    assert resp.status_code == 201
    assert api.get(f"/api/conversations/{cid}/customer").get_json() == {
        "email": "reg@example.com", "name": None, "registered": True}


def test_the_bot_cannot_replace_a_visitors_email_with_a_ticket(api, cid):
    api.post(f"/api/conversations/{cid}/contact", {"email": "bo@example.com"})
    api.post(f"/api/conversations/{cid}/tickets", {"description": "help", "category": "billing",
                                                   "email": "other@example.com"})
    assert api.get(f"/api/conversations/{cid}/customer").get_json()["email"] == "bo@example.com"


def test_the_bot_reads_the_admins_categories_for_its_ticket_form(api):
    from handoff.routing import catalog

    catalog.save_category("warranty", "Warranty claims")
    rows = api.get("/api/categories").get_json()["categories"]
    assert rows[0] == {"slug": "billing", "name": "Billing"}
    assert rows[-1] == {"slug": "warranty", "name": "Warranty claims"}
