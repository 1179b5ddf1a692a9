"""New tickets go to an online agent with room under their ticket capacity, or wait in their team's queue."""
from __future__ import annotations

from handoff.people import agents
from handoff.routing import catalog


def _bot_ticket(api, cid, text="My invoice is wrong", category="billing"):
    resp = api.post(f"/api/conversations/{cid}/tickets", {"description": text, "category": category})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _cid(api, customer_socket):
    return customer_socket().of("history")[0]["conversation_id"]


def test_a_new_ticket_goes_to_an_online_skilled_agent_within_their_ticket_capacity(api, customer_socket,
                                                                                   agent_socket, make_agent):
    sam = make_agent("Sam Agent", skills=("billing",))
    agents.set_routing(sam["id"], skills=["billing"], team_id=None, capacity=5, ticket_capacity=1)
    agent_socket(sam)
    cid = _cid(api, customer_socket)
    first = _bot_ticket(api, cid, "My invoice is wrong")
    assert first["assignee"] == "Sam Agent" and first["status"] == "open"
    second = _bot_ticket(api, cid, "And the one before too")
    assert second["assignee"] is None and second["status"] == "new"  # Sam is full: it waits


def test_nobody_online_leaves_the_ticket_in_its_teams_unassigned_queue(api, customer_socket, make_agent, staff):
    team = catalog.create_team("Payments")
    catalog.save_category("billing", "Billing", team["id"])
    make_agent("Sam Agent", skills=("billing",))
    ticket = _bot_ticket(api, _cid(api, customer_socket))
    assert ticket["assignee"] is None
    from handoff.db import session_scope
    from handoff.models import Ticket

    with session_scope() as s:
        assert s.get(Ticket, ticket["number"]).team_id == team["id"]


def test_a_ticket_transfer_to_a_team_notes_it_for_staff_only(api, customer_socket, make_agent):
    from handoff.tickets import lifecycle, queries

    team = catalog.create_team("Second line")
    ticket = _bot_ticket(api, _cid(api, customer_socket))
    lifecycle.transfer(ticket["number"], "Ann Admin", to_team=team["id"], note="needs a refund approval")
    detail = queries.for_staff(ticket["number"], 0, "admin", True)
    notes = [e for e in detail["events"] if e["kind"] == "note"]
    assert notes and not notes[-1]["public"] and "needs a refund approval" in notes[-1]["data"]["text"]
