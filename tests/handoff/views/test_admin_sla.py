"""/admin/routing sets business hours and SLA policies; /admin/sla shows attainment; only admins may."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handoff.chat import sla_report
from handoff.db import session_scope
from handoff.models import Customer, SlaPolicy, Ticket, utcnow
from handoff.routing import calendars, catalog, sla_policies
from handoff.tickets import lifecycle


@pytest.fixture
def admin(staff, make_agent):
    return staff(make_agent("Ada Admin", role="admin", skills=()))


def _desk_form():
    with session_scope() as s:
        return calendars.as_form(calendars.desk_hours(s))


def test_an_admin_sets_the_desks_and_a_teams_hours(admin):
    resp = admin.post("/admin/routing/hours/desk", data={"tz": "Europe/Berlin", "mon": "09:00-17:00",
                                                          "fri": "09:00-12:00, 13:00-15:00",
                                                          "holidays": "2026-12-25\n2026-12-26"},
                      follow_redirects=True)
    assert "The desk&#39;s business hours saved." in resp.get_data(as_text=True) or \
        "The desk's business hours saved." in resp.get_data(as_text=True)
    form = _desk_form()
    assert (form["tz"], form["mon"], form["tue"], form["fri"], form["holidays"]) == \
        ("Europe/Berlin", "09:00-17:00", "", "09:00-12:00, 13:00-15:00", "2026-12-25\n2026-12-26")
    team = catalog.create_team("Returns")
    admin.post(f"/admin/routing/hours/{team['id']}", data={"tz": "UTC", "sat": "22:00-06:00"})
    page = admin.get("/admin/routing").get_data(as_text=True)
    assert 'value="22:00-06:00"' in page and 'value="Europe/Berlin"' in page


@pytest.mark.parametrize("form, error", [
    ({"tz": "Mars/Base", "mon": "09:00-17:00"}, "is not a time zone"),
    ({"tz": "UTC", "mon": "nine to five"}, "write them like 09:00-17:30"),
    ({"tz": "UTC", "mon": "09:00-17:00", "holidays": "Christmas"}, "YYYY-MM-DD"),
    ({"tz": "UTC"}, "Open on at least one day"),
    ({"tz": "UTC", "mon": "09:00-17:00" * 30}, "too long"),
])
def test_bad_hours_are_refused_with_a_sentence_and_nothing_changes(admin, form, error):
    page = admin.post("/admin/routing/hours/desk", data=form, follow_redirects=True).get_data(as_text=True)
    assert error in page
    assert _desk_form()["tz"] == ""  # still always open


def test_an_admin_sets_a_teams_policy_and_the_escalation(admin):
    team = catalog.create_team("VIP")
    admin.post("/admin/routing/sla", data={"priority": "high", "team_id": str(team["id"]), "first_response_min": "10",
                                           "next_response_min": "30", "resolution_min": "120", "requeue": "1"})
    with session_scope() as s:
        row = s.scalar(select(SlaPolicy).where(SlaPolicy.team_id == team["id"]))
        assert (row.priority, row.first_response_s, row.resolution_s, row.requeue, row.raise_priority) == \
            ("high", 600, 7200, True, False)
        assert sla_policies.targets_for(s, "high", team["id"]).first_response_s == 600
        assert sla_policies.targets_for(s, "high", None).first_response_s == 3600  # the desk's, seeded
    page = admin.get("/admin/routing").get_data(as_text=True)
    assert "back to the queue" in page
    admin.post(f"/admin/routing/sla/{row.id}/delete")
    with session_scope() as s:
        assert s.scalar(select(SlaPolicy).where(SlaPolicy.team_id == team["id"])) is None


@pytest.mark.parametrize("form, error", [
    ({"priority": "critical", "first_response_min": "10"}, "Unknown priority"),
    ({"priority": "high", "first_response_min": "-5"}, "whole number of business minutes"),
    ({"priority": "high", "first_response_min": "10", "team_id": "999"}, "There is no such team."),
])
def test_bad_policies_are_refused_with_a_sentence_and_nothing_changes(admin, form, error):
    page = admin.post("/admin/routing/sla", data=form, follow_redirects=True).get_data(as_text=True)
    assert error in page
    with session_scope() as s:
        assert s.scalar(select(SlaPolicy.first_response_s).where(SlaPolicy.priority == "high",
                                                                 SlaPolicy.team_id.is_(None))) == 3600


def test_only_admins_change_hours_and_policies_or_see_attainment(staff, client, make_agent):
    agent = staff(make_agent("Sam Agent"))
    for http in (agent, client):
        assert http.get("/admin/sla").status_code in (302, 403)
        assert http.post("/admin/routing/hours/desk", data={"tz": "UTC", "mon": "09:00-10:00"}).status_code in (302, 403)
        assert http.post("/admin/routing/sla", data={"priority": "low", "first_response_min": "1"}).status_code \
            in (302, 403)
    assert _desk_form()["tz"] == ""
    with session_scope() as s:
        assert s.scalar(select(SlaPolicy.first_response_s).where(SlaPolicy.priority == "low",
                                                                 SlaPolicy.team_id.is_(None))) == 8 * 3600


def _ticket(priority: str, customer_id: int) -> int:
    return lifecycle.open_ticket(customer_id, "Where is my order", "It is late", "orders", priority,
                                 source="portal", actor="customer")["number"]


def test_attainment_counts_met_missed_and_pending_per_priority_and_agent(admin, make_agent):
    with session_scope() as s:
        cu = Customer(email="cy@example.com", name="Cy")
        s.add(cu)
        s.flush()
        cid = cu.id
    on_time, late, waiting = _ticket("urgent", cid), _ticket("urgent", cid), _ticket("low", cid)
    lifecycle.agent_reply(on_time, "Ada Admin", "On it")
    with session_scope() as s:  # the late one was opened an hour ago: its 15 minutes have passed
        t = s.get(Ticket, late)
        hour_ago = utcnow() - timedelta(hours=1)
        t.created_at = hour_ago
        t.sla = {k: {**v, "due": (hour_ago + timedelta(minutes=15)).isoformat(timespec="milliseconds")}
                 for k, v in t.sla.items()}

    report = sla_report.attainment(utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1))

    urgent = next(r for r in report["priority"] if r["key"] == "urgent")
    assert urgent["first_response"] == {"met": 1, "missed": 1, "pending": 0, "pct": 50.0}
    low = next(r for r in report["priority"] if r["key"] == "low")
    assert low["first_response"] == {"met": 0, "missed": 0, "pending": 1, "pct": None}
    assert report["overall"]["items"] == 3 and waiting
    page = admin.get("/admin/sla").get_data(as_text=True)
    assert "50.0%" in page and "Per agent" in page
    bad = admin.get("/admin/sla?since=2026-13-01")
    assert bad.status_code == 400 and "Dates are written YYYY-MM-DD." in bad.get_data(as_text=True)
