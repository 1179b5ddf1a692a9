"""An agent passes a ticket on from the console: to a colleague or a team, with a note only staff see."""
from __future__ import annotations

import html

import pytest

from handoff.db import session_scope
from handoff.models import Ticket
from handoff.routing import catalog
from handoff.tickets import queries
from tests.handoff.conftest import service_app


def _ticket(api, customer_socket) -> int:
    cid = customer_socket().of("history")[0]["conversation_id"]
    resp = api.post(f"/api/conversations/{cid}/tickets", {"description": "My invoice is wrong", "category": "billing"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["number"]


def _owner_and_team(number: int) -> tuple[str | None, int | None]:
    with session_scope() as s:
        t = s.get(Ticket, number)
        return (t.assignee.name if t.assignee else None), t.team_id


def _page(http, number: int) -> str:
    return html.unescape(http.get(f"/console/tickets/{number}").get_data(as_text=True))


@pytest.fixture
def sams_ticket(api, customer_socket, staff, make_agent):
    sam = staff(make_agent("Sam Agent"))
    number = _ticket(api, customer_socket)
    assert sam.post(f"/console/tickets/{number}/take").status_code == 302
    assert _owner_and_team(number)[0] == "Sam Agent"
    return sam, number


def test_an_agent_passes_their_ticket_to_a_colleague_who_reads_the_note(sams_ticket, staff, make_agent):
    sam, number = sams_ticket
    kim_agent = make_agent("Kim Agent", skills=("orders",))
    assert 'id="transfer-form"' in _page(sam, number)
    resp = sam.post(f"/console/tickets/{number}/transfer", data={"to": f"agent:{kim_agent['id']}",
                                                                 "note": "She needs the refund form"},
                    follow_redirects=True)
    assert "Ticket transferred." in resp.get_data(as_text=True)
    assert _owner_and_team(number)[0] == "Kim Agent"
    kim_sees = _page(staff(kim_agent), number)
    assert "Transferred to Kim Agent. She needs the refund form" in kim_sees
    # The customer's timeline shows a new agent, never the note.
    with session_scope() as s:
        customer_id = s.get(Ticket, number).customer_id
    public = queries.for_customer(number, customer_id)
    assert all("refund form" not in str(e.get("data")) for e in public["events"])


def test_a_ticket_passed_to_a_team_waits_in_its_unassigned_queue(sams_ticket):
    sam, number = sams_ticket
    team = catalog.create_team("Second line")
    resp = sam.post(f"/console/tickets/{number}/transfer", data={"to": f"team:{team['id']}", "note": ""},
                    follow_redirects=True)
    assert "Ticket transferred." in resp.get_data(as_text=True)
    assert _owner_and_team(number) == (None, team["id"])
    assert "Transferred to the Second line team." in _page(sam, number)


@pytest.mark.parametrize("to, error", [
    ("", "Transfer to one agent or one team."),
    ("nobody:1", "Transfer to one agent or one team."),
    ("agent:999", "That agent does not exist or is not active."),
    ("agent:abc", "That agent does not exist or is not active."),
    ("team:999", "There is no such team."),
])
def test_a_transfer_nowhere_says_why_and_changes_nothing(sams_ticket, to, error):
    sam, number = sams_ticket
    resp = sam.post(f"/console/tickets/{number}/transfer", data={"to": to, "note": "x"}, follow_redirects=True)
    assert resp.status_code == 200 and error in html.unescape(resp.get_data(as_text=True))
    assert _owner_and_team(number) == ("Sam Agent", None)
    assert "Transferred" not in _page(sam, number)


def test_another_agents_ticket_is_not_theirs_to_pass_on(sams_ticket, staff, make_agent):
    _, number = sams_ticket
    kim = staff(make_agent("Kim Agent"))
    # Kim cannot see Sam's ticket (AGENTS_SEE_ALL is off): it does not exist for her.
    assert kim.post(f"/console/tickets/{number}/transfer", data={"to": "team:1"}).status_code == 404
    assert _owner_and_team(number) == ("Sam Agent", None)


@pytest.mark.settings(AGENTS_SEE_ALL=True)
def test_seeing_every_ticket_is_not_owning_it(sams_ticket, staff, make_agent):
    _, number = sams_ticket
    kim_agent = make_agent("Kim Agent")
    kim = staff(kim_agent)
    assert 'id="transfer-form"' not in _page(kim, number)
    resp = kim.post(f"/console/tickets/{number}/transfer", data={"to": f"agent:{kim_agent['id']}"},
                    follow_redirects=True)
    assert "is another agent's" in html.unescape(resp.get_data(as_text=True))
    assert _owner_and_team(number) == ("Sam Agent", None)
    admin = staff(make_agent("Ada Admin", role="admin"))
    admin.post(f"/console/tickets/{number}/transfer", data={"to": f"agent:{kim_agent['id']}"})
    assert _owner_and_team(number)[0] == "Kim Agent"


def test_customers_and_strangers_cannot_transfer(sams_ticket, client, register):
    _, number = sams_ticket
    assert client.post(f"/console/tickets/{number}/transfer", data={"to": "team:1"}).status_code == 302  # log in
    ann = register()
    assert ann.post(f"/console/tickets/{number}/transfer", data={"to": "team:1"}).status_code in (302, 403)
    assert _owner_and_team(number) == ("Sam Agent", None)


def test_the_transfer_form_needs_its_csrf_token(tmp_path, fake_rasa):
    app = service_app(f"sqlite:///{tmp_path / 'c.db'}", fake_rasa, WTF_CSRF_ENABLED=True)
    assert app.test_client().post("/console/tickets/1/transfer", data={"to": "team:1"}).status_code == 400
