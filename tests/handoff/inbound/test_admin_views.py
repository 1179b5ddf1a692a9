"""What staff see of inbound mail: the held list with accept/reject, the whole mail behind a reply, and
the raw message of one that could not be read, as a download only."""
from __future__ import annotations

import pytest

from handoff.db import session_scope
from handoff.inbound import intake
from handoff.models import Customer
from handoff.tickets import lifecycle
from tests.handoff.conftest import PASSWORD
from tests.handoff.inbound.mails import MALFORMED, mail


@pytest.fixture
def admin(app, make_agent):
    ada = make_agent("Ada Admin", role="admin")
    http = app.test_client()
    assert http.post("/login", data={"email": ada["email"], "password": PASSWORD}).status_code == 302
    return http


def _ticket() -> tuple[int, str]:
    with session_scope() as s:
        c = Customer(email="ann@example.org", name="Ann")
        s.add(c)
        s.flush()
        cid = c.id
    number = lifecycle.open_ticket(cid, "Blender", "It broke", "orders", source="portal", actor="customer")["number"]
    return number, lifecycle.reply_token(number)


def test_an_admin_accepts_a_held_reply_from_the_list(app, admin):
    number, token = _ticket()
    held = intake.receive(mail("neighbour@example.net", f"support+t{token}@example.com", "Re", "She is away."), "smtp")
    page = admin.get("/admin/inbound").get_data(as_text=True)
    assert "neighbour@example.net" in page and f'data-inbound-id="{held["id"]}"' in page
    timeline = admin.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert "A mail from neighbour@example.net was held" in timeline and 'id="held-mail"' in timeline
    resp = admin.post(f"/admin/inbound/{held['id']}/decide", data={"decision": "accept"}, follow_redirects=True)
    assert f"Mail added to ticket #{number}." in resp.get_data(as_text=True)
    timeline = admin.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert "She is away." in timeline and "neighbour@example.net" in timeline
    assert "neighbour@example.net" not in admin.get("/admin/inbound").get_data(as_text=True)  # no longer held


def test_an_agent_who_may_see_the_ticket_decides_on_its_held_mail_in_the_ticket_view(app, make_agent):
    number, token = _ticket()
    held = intake.receive(mail("neighbour@example.net", f"support+t{token}@example.com", "Re", "She is away."), "smtp")
    other_number, _ = _ticket()
    sam = make_agent()
    agent = app.test_client()
    agent.post("/login", data={"email": sam["email"], "password": PASSWORD})
    # Through another ticket's page the mail is not found, and stays held.
    resp = agent.post(f"/console/tickets/{other_number}/held/{held['id']}", data={"decision": "accept"},
                      follow_redirects=True)
    assert "no such held mail" in resp.get_data(as_text=True)
    page = agent.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert f'data-inbound-id="{held["id"]}"' in page
    resp = agent.post(f"/console/tickets/{number}/held/{held['id']}", data={"decision": "reject"},
                      follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Mail rejected." in page and 'id="held-mail"' not in page and "was rejected (Sam Agent)" in page


def test_staff_can_expand_the_whole_mail_and_the_customer_sees_only_the_new_words(app, admin, register):
    customer = register("ann@example.com")
    number = lifecycle.open_ticket(1, "Blender", "It broke", "orders", source="portal", actor="customer")["number"]
    token = lifecycle.reply_token(number)
    quoted = "New words here.\n\nOn Mon, 30 Nov 2026 at 10:00, Support <support@example.com> wrote:\n> old words\n"
    intake.receive(mail("ann@example.com", f"support+t{token}@example.com", "Re", quoted), "smtp")
    staff = admin.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert "New words here." in staff and "The whole mail" in staff and "&gt; old words" in staff
    own = customer.get(f"/portal/tickets/{number}").get_data(as_text=True)
    assert "New words here." in own and "old words" not in own


def test_an_unreadable_mail_is_listed_and_downloadable_never_rendered(app, admin, make_agent):
    bad = intake.receive(MALFORMED, "imap")
    page = admin.get("/admin/inbound?status=unreadable").get_data(as_text=True)
    assert "could not be read" in page and "no sender address" in page
    raw = admin.get(f"/admin/inbound/{bad['id']}/raw")
    assert raw.data == MALFORMED and raw.headers["Content-Disposition"].startswith("attachment")
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    sam = make_agent()
    agent = app.test_client()
    agent.post("/login", data={"email": sam["email"], "password": PASSWORD})
    assert agent.get(f"/admin/inbound/{bad['id']}/raw").status_code in (302, 403, 404)
