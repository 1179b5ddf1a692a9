"""The chat opens with a welcome the admin writes in /admin."""
import pytest

from handoff.knowledge.settings import DEFAULT_WELCOME, MAX_WELCOME, welcome


@pytest.fixture
def admin(staff, make_agent):
    return staff(make_agent("Ada Admin", role="admin"))


def test_a_new_chat_opens_with_the_default_welcome_saying_a_person_is_one_message_away(customer_socket):
    history = customer_socket().of("history")[0]
    assert history["messages"] == [] and history["welcome"] == DEFAULT_WELCOME
    assert "person" in DEFAULT_WELCOME


def test_the_admin_changes_the_welcome_and_new_chats_open_with_it(admin, customer_socket):
    text = "Hello from Northwind! Ask me about orders and returns; type 'person' for a human."
    resp = admin.post("/admin/welcome", data={"welcome": text})
    assert resp.status_code == 302
    assert text.replace("'", "&#39;") in admin.get("/admin/").get_data(as_text=True)
    assert customer_socket().of("history")[0]["welcome"] == text
    admin.post("/admin/welcome", data={"welcome": "  "})  # empty: back to the default
    assert customer_socket().of("history")[0]["welcome"] == DEFAULT_WELCOME


@pytest.mark.parametrize("text", ["x" * (MAX_WELCOME + 1), "\u202e\u202e"])
def test_a_bad_welcome_is_refused_with_a_sentence_and_nothing_changes(admin, customer_socket, text):
    admin.post("/admin/welcome", data={"welcome": "Hi there, a person is one message away."})
    resp = admin.post("/admin/welcome", data={"welcome": text}, follow_redirects=True)
    assert "welcome message" in resp.get_data(as_text=True)
    assert customer_socket().of("history")[0]["welcome"] == "Hi there, a person is one message away."


@pytest.mark.parametrize("who", ["anonymous", "agent"])
def test_only_admins_change_the_welcome(app, staff, who):
    http = app.test_client() if who == "anonymous" else staff()
    resp = http.post("/admin/welcome", data={"welcome": "Buy crypto now"})
    assert resp.status_code in (302, 403)
    if resp.status_code == 302:
        assert "/login" in resp.headers["Location"]
    assert welcome() == DEFAULT_WELCOME
