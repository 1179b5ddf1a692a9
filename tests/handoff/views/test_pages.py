"""Pages, log-in and who may see what."""
from __future__ import annotations

import pytest

from tests.handoff.conftest import PASSWORD


def login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_demo_page_embeds_the_widget(client):
    html = client.get("/").get_data(as_text=True)
    assert 'src="/static/widget.js"' in html


@pytest.mark.parametrize("path", ["/console", "/admin/"])
def test_staff_pages_send_strangers_to_log_in(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_wrong_password_is_refused(client, make_agent):
    agent = make_agent()
    resp = login(client, agent["email"], "wrong password")
    assert resp.status_code == 401 and "Wrong email or password" in resp.get_data(as_text=True)
    assert client.get("/console").status_code == 302


def test_agent_sees_console_but_not_admin(client, make_agent):
    login(client, make_agent()["email"])
    assert client.get("/console").status_code == 200
    assert client.get("/admin/").status_code == 403
    assert client.post("/admin/agents", data={"name": "X", "email": "x@example.com",
                                              "password": "longenough"}).status_code == 403


def test_admin_creates_an_agent_who_can_then_log_in(client, app, make_agent):
    login(client, make_agent("Ada Admin", role="admin")["email"])
    resp = client.post("/admin/agents", data={"name": "New Person", "email": "new@example.com",
                                              "password": "a-good-password", "role": "agent",
                                              "skills": ["billing", "technical"]}, follow_redirects=True)
    assert resp.status_code == 200 and "New Person" in resp.get_data(as_text=True)
    other = app.test_client()
    assert login(other, "new@example.com", "a-good-password").status_code == 302


def test_login_refuses_open_redirects(client, make_agent):
    agent = make_agent()
    resp = client.post("/login?next=https://evil.example/", data={"email": agent["email"], "password": PASSWORD})
    assert resp.headers["Location"] == "/console"


def test_forms_need_a_csrf_token(tmp_path, fake_rasa):
    from handoff import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "AUTO_MIGRATE": True,
                      "RASA_URL": fake_rasa.url})
    assert app.test_client().post("/login", data={"email": "a@b.co", "password": "x"}).status_code == 400


def test_unknown_pages_and_api_errors_have_no_traceback(client, api):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Traceback" not in page.get_data(as_text=True)
    body = api.get("/api/no/such/thing").get_json()
    assert body["code"] == 404 and set(body) == {"code", "message", "description"}


def test_healthz_reports_each_part(app, client, fake_rasa):
    import time

    app.config["HEALTH_PROBE_FRESH"] = 0.5
    body = client.get("/healthz")
    assert body.status_code == 200
    assert body.get_json()["database"]["ok"] and body.get_json()["rasa"]["ok"]
    fake_rasa.mode = "down"
    # A probe is given again while it is fresh, so callers of this public page cannot multiply them ...
    assert client.get("/healthz").status_code == 200
    time.sleep(0.6)
    # ... and a server that went down shows once it is not.
    down = client.get("/healthz")
    assert down.status_code == 503 and down.get_json()["rasa"]["ok"] is False
    fake_rasa.mode = "echo"
    assert client.get("/healthz").status_code == 503, "a failed probe is given again while fresh, too"
    time.sleep(0.6)
    assert client.get("/healthz").status_code == 200
