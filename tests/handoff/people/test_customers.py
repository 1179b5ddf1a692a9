"""Customers' accounts: registration, log-in and its throttle, passwords, linking chats."""
from __future__ import annotations

import re

from handoff.chat import conversations
from tests.handoff.conftest import PASSWORD


def test_register_log_out_and_log_in(app, register):
    ann = register()
    assert ann.get("/portal/").status_code == 200
    ann.post("/portal/logout")
    assert ann.get("/portal/").status_code == 302
    resp = ann.post("/portal/login", data={"email": "ANN@example.com", "password": PASSWORD})
    assert resp.status_code == 302 and ann.get("/portal/").status_code == 200


def test_registration_refusals(app, register):
    register()
    http = app.test_client()
    for data, words in [({"email": "new@example.com", "password": "short", "password2": "short"}, "at least 8"),
                        ({"email": "nope", "password": PASSWORD, "password2": PASSWORD}, "email address"),
                        ({"email": "x@example.com", "password": PASSWORD, "password2": "other pass"}, "differ")]:
        resp = http.post("/portal/register", data=data)
        assert resp.status_code == 400 and words in resp.get_data(as_text=True)


def test_password_hashes_are_argon2(app, register):
    from handoff.db import session_scope
    from handoff.models import Customer

    register()
    with session_scope() as s:
        stored = s.query(Customer).filter_by(email="ann@example.com").one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_log_in_is_throttled_per_account(app, register):
    register().post("/portal/logout")
    http = app.test_client()
    for _ in range(5):
        assert http.post("/portal/login", data={"email": "ann@example.com", "password": "wrong!!!"}).status_code == 401
    resp = http.post("/portal/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert resp.status_code == 429 and "15 minutes" in resp.get_data(as_text=True)


def test_registration_does_not_tell_whether_an_account_exists(app, register, mailbox, deliver):
    """A taken address gets the same answer as a new one; its owner is told by mail instead (as Zendesk does)."""
    register().post("/portal/logout")
    answers = {}
    for email in ("ann@example.com", "bob@example.com"):
        http = app.test_client()
        resp = http.post("/portal/register", data={"email": email, "name": "Mallory", "password": "another pass",
                                                   "password2": "another pass"})
        answers[email] = (resp.status_code, resp.get_data(as_text=True).replace(email, "EMAIL"))
        assert http.get("/portal/").status_code == 302  # nobody is logged in by registering
    assert answers["ann@example.com"] == answers["bob@example.com"]
    deliver()
    [mail] = mailbox.messages
    assert mail["To"] == "ann@example.com" and "already has one" in mailbox.text(mail)
    assert "Mallory" not in mailbox.text(mail)  # nothing of the caller's own goes into it
    fresh = app.test_client()  # Ann's password is untouched
    assert fresh.post("/portal/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 302
    assert fresh.post("/portal/login", data={"email": "bob@example.com", "password": "another pass"}).status_code == 302


def test_change_password(app, register):
    ann = register()
    bad = ann.post("/portal/password", data={"current_password": "wrong", "new_password": "brand new pass",
                                             "new_password2": "brand new pass"})
    assert bad.status_code == 400
    ok = ann.post("/portal/password", data={"current_password": PASSWORD, "new_password": "brand new pass",
                                            "new_password2": "brand new pass"})
    assert ok.status_code == 200
    fresh = app.test_client()
    assert fresh.post("/portal/login", data={"email": "ann@example.com", "password": "brand new pass"}).status_code == 302


def test_forgotten_password_link_works_once(app, register, mailbox, deliver):
    register().post("/portal/logout")
    http = app.test_client()
    http.post("/portal/forgot", data={"email": "ann@example.com"})
    http.post("/portal/forgot", data={"email": "nobody@example.com"})  # says the same, sends nothing
    deliver()
    assert [m["To"] for m in mailbox.messages] == ["ann@example.com"]
    link = re.search(r"http://\S+/portal/reset/(\S+)", mailbox.text(mailbox.messages[0]))
    path = "/portal/reset/" + link.group(1)
    assert http.post(path, data={"password": "a fresh password", "password2": "a fresh password"}).status_code == 302
    again = http.post(path, data={"password": "another password", "password2": "another password"})
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert http.post("/portal/login", data={"email": "ann@example.com",
                                            "password": "a fresh password"}).status_code == 302


def test_expired_or_forged_reset_links_are_refused(app, register, monkeypatch):
    import time

    from handoff.people import customers

    register()
    with app.test_request_context():
        from itsdangerous import URLSafeTimedSerializer

        forged = URLSafeTimedSerializer("not the key", salt="reset").dumps({"c": 1, "h": "x"})
        real = customers._signer("reset").dumps({"c": 1, "h": "whatever"})
    http = app.test_client()
    resp = http.post(f"/portal/reset/{forged}", data={"password": "abcdefgh1", "password2": "abcdefgh1"})
    assert "not valid" in resp.get_data(as_text=True)
    later = time.time() + 3 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    resp = http.post(f"/portal/reset/{real}", data={"password": "abcdefgh1", "password2": "abcdefgh1"})
    assert "expired" in resp.get_data(as_text=True)


def test_logging_in_links_the_anonymous_chat(app, register, customer_socket):
    chat = customer_socket("widget-visitor-77")
    chat.emit("customer_message", {"text": "my order is late", "client_msg_id": "m"})
    cid = chat.of("history")[0]["conversation_id"]
    ann = register()
    ann.post("/portal/logout")
    ann.post("/portal/login", data={"email": "ann@example.com", "password": PASSWORD,
                                    "visitor_id": "widget-visitor-77"})
    assert "my order is late" in ann.get(f"/portal/chats/{cid}").get_data(as_text=True)
    # The same widget, reconnecting, continues the same conversation.
    again = customer_socket("widget-visitor-77")
    assert again.of("history")[0]["conversation_id"] == cid
    assert conversations.for_customer(cid, conversations.customer_of(cid))["id"] == cid


def test_email_given_to_the_bot_links_the_chat_after_confirmation(app, register, api, mailbox, deliver):
    ann = register()
    visitor_chat = conversations.open_for_visitor("anonymous-visitor-9")
    assert api.post(f"/api/conversations/{visitor_chat}/contact", {"email": "ann@example.com"}).status_code == 200
    deliver()
    confirm = [m for m in mailbox.to("ann@example.com") if "Confirm" in m["Subject"]]
    path = re.search(r"http://\S+(/portal/link/\S+)", mailbox.text(confirm[0])).group(1)
    bob = register("bob@example.com", "Bob")
    bob.get(path)  # someone else's link does nothing for them
    assert bob.get(f"/portal/chats/{visitor_chat}").status_code == 404
    ann.get(path)
    assert ann.get(f"/portal/chats/{visitor_chat}").status_code == 200
