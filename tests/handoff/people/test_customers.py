"""Customers' accounts: registration, log-in and its throttle, passwords, linking chats."""
from __future__ import annotations

import re

from handoff.chat import conversations
from tests.handoff.conftest import PASSWORD, Inbox, confirmation_link


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
    """A taken address gets the same answer as a new one, on the form and at log-in afterwards: a new
    account is unusable until its address is confirmed, so the registrant's password opens neither."""
    register().post("/portal/logout")
    deliver()
    mailbox.messages.clear()
    answers = {}
    for email in ("ann@example.com", "bob@example.com"):
        http = app.test_client()
        resp = http.post("/portal/register", data={"email": email, "name": "Mallory", "password": "another pass",
                                                   "password2": "another pass"})
        assert http.get("/portal/").status_code == 302  # nobody is logged in by registering
        login = http.post("/portal/login", data={"email": email, "password": "another pass"})
        answers[email] = [(r.status_code, _anonymous(r.get_data(as_text=True), email)) for r in (resp, login)]
    assert answers["ann@example.com"] == answers["bob@example.com"]
    assert answers["bob@example.com"][1][0] == 401 and "confirm your address" in answers["bob@example.com"][1][1]
    deliver()
    mails = {m["To"]: m for m in mailbox.messages}
    assert "already has one" in mailbox.text(mails["ann@example.com"])
    assert "Mallory" not in mailbox.text(mails["ann@example.com"])  # nothing of the caller's own goes into it
    assert "Confirm" in mails["bob@example.com"]["Subject"]
    fresh = app.test_client()  # Ann's password is untouched
    assert fresh.post("/portal/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 302
    bob = app.test_client()
    assert bob.post(confirmation_link("bob@example.com")).status_code == 302  # confirmed and logged in
    assert bob.get("/portal/").status_code == 200
    assert app.test_client().post("/portal/login", data={"email": "bob@example.com", "password": "another pass"}) \
        .status_code == 302


def _anonymous(page: str, email: str) -> str:
    """The page without the address and the form's CSRF token (each browser has its own)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page.replace(email, "EMAIL"))


def test_whoever_registers_someone_elses_address_first_gains_nothing(app):
    """Mallory registers Ann's address before Ann does: Ann's own registration voids Mallory's link and
    password, and opening a link (as mail scanners do) confirms nothing."""
    def sign_up(password):
        app.test_client().post("/portal/register", data={"email": "ann@example.com", "password": password,
                                                         "password2": password})
        return confirmation_link("ann@example.com")

    mallorys_link = sign_up("mallory's pass")
    assert app.test_client().get(mallorys_link).status_code == 200  # a page with a button, nothing done
    anns_link = sign_up(PASSWORD)
    stale = app.test_client().post(mallorys_link)
    assert stale.status_code == 400 and "latest mail" in stale.get_data(as_text=True)
    ann = app.test_client()
    assert ann.post(anns_link).status_code == 302 and ann.get("/portal/").status_code == 200
    for password, status in (("mallory's pass", 401), (PASSWORD, 302)):
        assert app.test_client().post("/portal/login", data={"email": "ann@example.com", "password": password}) \
            .status_code == status
    forged = app.test_client().post(anns_link[:-4] + "AAAA")
    assert forged.status_code == 400 and "not valid" in forged.get_data(as_text=True)


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
    # The widget, logged in, continues the same conversation...
    logged_in = app.extensions["socketio"].test_client(app, namespace="/chat", flask_test_client=ann)
    assert Inbox(logged_in, "/chat").of("history")[0]["conversation_id"] == cid
    logged_in.disconnect("/chat")
    # ...but the visitor id alone (this browser logged out, or anyone who copied it) opens none of it.
    again = customer_socket("widget-visitor-77")
    assert again.of("history")[0]["conversation_id"] != cid and again.of("history")[0]["messages"] == []


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


def _confirm_path(mailbox, email: str) -> str:
    confirm = [m for m in mailbox.to(email) if "Confirm" in m["Subject"]]
    return re.search(r"http://\S+(/portal/link/\S+)", mailbox.text(confirm[-1])).group(1)


def test_a_visitor_who_gives_the_bot_someone_elses_email_never_reaches_their_account(
        app, register, api, mailbox, deliver, customer_socket):
    ann = register()
    ann.post("/portal/new", data={"subject": "Refund for order 5512", "description": "Card ending 4242",
                                  "category": "billing"})
    ann_chat = app.extensions["socketio"].test_client(app, namespace="/chat", flask_test_client=ann)
    ann_widget = Inbox(ann_chat, "/chat")
    ann_widget.emit("customer_message", {"text": "my address is 1 Secret Lane", "client_msg_id": "a1"})
    ann_number = re.search(r"/portal/tickets/(\d+)", ann.get("/portal/").get_data(as_text=True)).group(1)

    attacker = customer_socket("attacker-visitor-1")
    attacker.emit("customer_message", {"text": "hi", "client_msg_id": "x1"})
    bait = attacker.of("history")[0]["conversation_id"]
    api.post(f"/api/conversations/{bait}/contact", {"email": "ann@example.com"})
    deliver()
    ann.get(_confirm_path(mailbox, "ann@example.com"))  # Ann, logged in, clicks the link
    assert ann.get(f"/portal/chats/{bait}").status_code == 200  # she got that chat, nothing more

    ann_chat.disconnect("/chat")
    ann_widget = Inbox(app.extensions["socketio"].test_client(app, namespace="/chat", flask_test_client=ann),
                       "/chat")
    ann_widget.emit("customer_message", {"text": "my new card is 5555", "client_msg_id": "a2"})
    # The attacker's open socket: none of Ann's live messages, and its posts no longer land in her chat.
    assert not [t for t in attacker.texts() if "5555" in t or "Secret" in t]
    assert attacker.emit("customer_message", {"text": "hello?", "client_msg_id": "x2"})["ok"] is False
    # Reconnecting with the same visitor id: a new, empty chat, and the bot answers nothing of Ann's.
    again = customer_socket("attacker-visitor-1")
    fresh = again.of("history")[0]
    assert fresh["messages"] == []
    assert fresh["conversation_id"] not in (bait, ann_widget.of("history")[0]["conversation_id"])
    assert api.get(f"/api/conversations/{fresh['conversation_id']}/tickets/{ann_number}").status_code == 404
    assert api.get(f"/api/conversations/{fresh['conversation_id']}/customer").get_json()["registered"] is False
    # A confirmation link works once.
    assert "0 chat(s)" in ann.get(_confirm_path(mailbox, "ann@example.com"), follow_redirects=True) \
        .get_data(as_text=True)


def _copy_of(app, http):
    """Another browser holding a copy of this browser's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", http.get_cookie("session").value)
    return thief


def test_log_out_ends_copies_of_the_session_cookie(app, register):
    ann = register()
    thief = _copy_of(app, ann)
    assert thief.get("/portal/").status_code == 200
    ann.post("/portal/logout")
    assert thief.get("/portal/").status_code == 302


def test_a_new_password_ends_every_other_session(app, register):
    ann = register()
    thief = _copy_of(app, ann)
    resp = ann.post("/portal/password", data={"current_password": PASSWORD, "new_password": "a new password 1",
                                              "new_password2": "a new password 1"})
    assert resp.status_code == 200
    assert ann.get("/portal/").status_code == 200  # the browser that changed it stays logged in
    assert thief.get("/portal/").status_code == 302


def test_a_password_reset_ends_every_session(app, register, mailbox, deliver):
    ann = register()
    thief = _copy_of(app, ann)
    app.test_client().post("/portal/forgot", data={"email": "ann@example.com"})
    deliver()
    reset = [m for m in mailbox.to("ann@example.com") if "reset" in m["Subject"].lower()]
    path = re.search(r"http://\S+(/portal/reset/\S+)", mailbox.text(reset[-1])).group(1)
    app.test_client().post(path, data={"password": "a new password 1", "password2": "a new password 1"})
    assert thief.get("/portal/").status_code == 302
    assert ann.get("/portal/").status_code == 302


def test_a_chat_opened_with_a_copied_cookie_goes_deaf_and_mute_at_log_out(app, register):
    from handoff.chat import conversations as chats

    ann = register()
    thief = Inbox(app.extensions["socketio"].test_client(app, namespace="/chat", flask_test_client=_copy_of(app, ann)),
                  "/chat")
    cid = thief.of("history")[0]["conversation_id"]
    ann.post("/portal/logout")
    chats.post_bot_message(cid, "Your refund of $420 went to the card ending 4242.")
    assert "4242" not in " ".join(thief.texts())
    assert thief.emit("customer_message", {"text": "still here?", "client_msg_id": "t1"})["ok"] is False
