"""A ticket's SLA: timers from its priority's policy, warnings and breaches announced once (timeline, console,
mail) and the policy's escalation at a breach."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from handoff.db import session_scope
from handoff.models import Customer, OutboxMail, Ticket
from handoff.routing import sla_policies
from handoff.tickets import deadlines, lifecycle


def _customer() -> int:
    with session_scope() as s:
        cu = Customer(email="ann@example.com", name="Ann")
        s.add(cu)
        s.flush()
        return cu.id


def _open(priority="urgent") -> tuple[int, datetime]:
    number = lifecycle.open_ticket(_customer(), "Card charged twice", "Please refund one", "billing", priority,
                                   source="portal", actor="customer")["number"]
    with session_scope() as s:
        return number, s.get(Ticket, number).created_at


def _ticket(number):
    with session_scope() as s:
        t = s.get(Ticket, number)
        return {"priority": t.priority, "assignee_id": t.assignee_id, "sla": t.sla,
                "events": [(e.kind, e.public, e.data) for e in t.events]}


def _mails(kind="sla_alert"):
    with session_scope() as s:
        return [(m.to_addr, m.subject) for m in s.scalars(select(OutboxMail).where(OutboxMail.kind == kind))]


def test_a_new_ticket_is_due_by_its_prioritys_targets(app):
    number, created = _open("urgent")
    timers = _ticket(number)["sla"]
    # The seeded policy for urgent: a first response within 15 minutes, resolved within 4 hours.
    assert datetime.fromisoformat(timers["first_response"]["due"]) - created < timedelta(minutes=15, seconds=1)
    assert datetime.fromisoformat(timers["resolution"]["due"]) - created < timedelta(hours=4, seconds=1)
    assert "next_response" not in timers


def test_nearing_and_passing_the_due_time_is_told_once_each_to_the_assignee_and_admins(app, agent_socket,
                                                                                         make_agent):
    make_agent("Ada Admin", role="admin")
    console = agent_socket(make_agent("Sam Agent", skills=("billing",)))
    number, created = _open("urgent")
    assert _ticket(number)["assignee_id"] is not None  # routed to Sam, who is online

    assert deadlines.watch(created + timedelta(minutes=5)) == 0
    assert deadlines.watch(created + timedelta(minutes=13)) == 1
    assert deadlines.watch(created + timedelta(minutes=14)) == 0  # told already
    alerts = console.of("sla_alert")
    assert [(a["ticket"], a["timer"], a["level"]) for a in alerts] == [(number, "first_response", "warning")]
    assert sorted(to for to, _ in _mails()) == ["ada@example.com", "sam@example.com"]

    assert deadlines.watch(created + timedelta(minutes=16)) == 1
    assert [a["level"] for a in console.of("sla_alert")] == ["warning", "breached"]
    kinds = [(k, public) for k, public, _ in _ticket(number)["events"] if k.startswith("sla_")]
    assert kinds == [("sla_warning", False), ("sla_breached", False)]  # in the timeline, for staff only
    assert any("SLA breached" in subject for _, subject in _mails())


def test_answering_stops_the_first_response_and_a_customer_reply_starts_the_next(app, make_agent):
    number, created = _open("high")
    lifecycle.agent_reply(number, "Sam", "We are on it.")
    timers = _ticket(number)["sla"]
    assert timers["first_response"]["done"] and "next_response" not in timers
    with session_scope() as s:
        customer_id = s.get(Ticket, number).customer_id
    lifecycle.customer_reply(number, customer_id, "Any news?")
    assert "done" not in _ticket(number)["sla"]["next_response"]
    lifecycle.set_status(number, "resolved", "Sam")
    assert all(t.get("done") for t in _ticket(number)["sla"].values())
    assert deadlines.watch(created + timedelta(days=30)) == 0  # resolved work is not watched


def test_a_breach_escalates_as_the_policy_says(app, agent_socket, make_agent):
    sla_policies.save("normal", None, first_response_min=60, next_response_min=120, resolution_min=600,
                      raise_priority=True, requeue=True)
    agent_socket(make_agent("Sam Agent", skills=("billing",)))
    number, created = _open("normal")
    assert _ticket(number)["assignee_id"] is not None

    deadlines.watch(created + timedelta(minutes=61))

    after = _ticket(number)
    assert after["priority"] == "high"
    changes = {k: d for k, _, d in after["events"] if k in ("priority_changed", "unassigned", "sla_breached")}
    assert changes["priority_changed"]["reason"] == "SLA breached"
    assert changes["unassigned"]["reason"] == "SLA breached"
    assert changes["sla_breached"]["escalation"] == ["priority raised to high", "back in the queue"]
    # Back in the queue, routing gives it to whoever is free (here Sam again, the only one online).
    assert after["assignee_id"] is not None


def test_the_watcher_is_quiet_when_nothing_is_due(app, caplog):
    _open("low")
    with caplog.at_level(logging.DEBUG, logger="careregistry"):
        assert deadlines.watch() == 0
    assert [r for r in caplog.records if r.name == "careregistry.sla"] == []


def test_a_priority_change_moves_the_due_times(app):
    number, created = _open("low")
    low_due = _ticket(number)["sla"]["first_response"]["due"]
    lifecycle.set_priority(number, "urgent", "Sam")
    assert _ticket(number)["sla"]["first_response"]["due"] < low_due
    with session_scope() as s:
        assert s.scalar(select(Ticket.sla_check_at).where(Ticket.id == number)) < created + timedelta(minutes=15)
