"""Mail health on /admin: both directions' last success, backlog and failure in the server's words; after
15 minutes of failure a banner, and one mail to each admin per failure."""
from __future__ import annotations

from datetime import timedelta

import pytest

from handoff.db import session_scope
from handoff.mail import health, outbox
from handoff.models import Customer, OutboxMail, utcnow
from handoff.tickets import lifecycle
from tests.fakes import free_port
from tests.handoff.conftest import PASSWORD


@pytest.fixture
def admin(app, make_agent):
    ada = make_agent("Ada Admin", role="admin")
    http = app.test_client()
    http.post("/login", data={"email": ada["email"], "password": PASSWORD})
    return http


def _ticket():
    with session_scope() as s:
        c = Customer(email="cy@example.com", name="Cy")
        s.add(c)
        s.flush()
        cid = c.id
    lifecycle.open_ticket(cid, "Help", "It broke", "technical", source="portal", actor="customer")


def test_a_send_outage_shows_the_servers_words_then_a_banner_after_15_minutes_and_mails_admins_once(app, admin,
                                                                                                    deliver):
    _ticket()
    down = outbox.SmtpSender("127.0.0.1", free_port(), timeout=2)
    start = utcnow()
    outbox.deliver_due(down, now=start)
    page = admin.get("/admin/").get_data(as_text=True)
    assert "ConnectionRefused" in page and 'id="mail-alarm"' not in page  # failing, but not for long
    later = start + timedelta(minutes=16)
    assert health.status(later)["send"]["alarm"]
    assert health.alert_admins(later) == 1
    assert health.alert_admins(later + timedelta(minutes=5)) == 0  # once per outage
    with session_scope() as s:
        alert = s.query(OutboxMail).filter_by(kind="mail_health").one()
        assert alert.to_addr == "ada@example.com" and "not getting out" in alert.subject
        s.query(OutboxMail).filter_by(kind="ticket_created").update({"created_at": utcnow() - timedelta(minutes=20)})
    assert 'id="mail-alarm"' in admin.get("/admin/").get_data(as_text=True)
    deliver(now=later + timedelta(minutes=10))  # the server is back: everything goes, the banner with it
    assert not health.status()["alarm"]
    assert 'id="mail-alarm"' not in admin.get("/admin/").get_data(as_text=True)


def test_a_fetch_failure_is_reported_in_the_servers_words_and_clears_on_success(app, admin):
    health.record("fetch", False, "connect: LoginError: [AUTHENTICATIONFAILED] Authentication failed.")
    state = health.status()
    assert state["fetch"]["error"].endswith("Authentication failed.") and not state["fetch"]["alarm"]
    assert health.status(utcnow() + timedelta(minutes=16))["fetch"]["alarm"]
    assert "AUTHENTICATIONFAILED" in admin.get("/admin/").get_data(as_text=True)
    health.record("fetch", True)
    assert health.status(utcnow() + timedelta(minutes=16))["fetch"]["failing_since"] is None
