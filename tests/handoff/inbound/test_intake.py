"""Inbound mail's decisions, through the one function every way in calls (`intake.receive`).

The listeners' own tests (SMTP, IMAP against dovecot) send real mail; these cover what becomes of it.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from handoff.db import session_scope
from handoff.inbound import intake
from handoff.mail import outbox
from handoff.models import Customer, InboundMail, OutboxMail, Ticket, TicketEvent
from handoff.tickets import lifecycle
from tests.handoff.inbound.mails import LATIN1_QP, MALFORMED, mail


def _ticket(email="ann@example.org") -> tuple[int, str]:
    with session_scope() as s:
        c = Customer(email=email, name="Ann")
        s.add(c)
        s.flush()
        cid = c.id
    number = lifecycle.open_ticket(cid, "Blender", "It broke", "orders", source="portal", actor="customer")["number"]
    with session_scope() as s:
        return number, s.get(Ticket, number).reply_token


def _replies(number: int) -> list[TicketEvent]:
    with session_scope() as s:
        rows = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.kind == "reply"))
        return [(e.actor, e.data) for e in rows]


def _last_mail(kind=None) -> OutboxMail:
    with session_scope() as s:
        q = select(OutboxMail).order_by(OutboxMail.id.desc())
        return s.scalars(q.where(OutboxMail.kind == kind) if kind else q).first()


QUOTED = "Thanks, that did it!\n\nBest regards,\nAnn\n\nOn Mon, 30 Nov 2026 at 10:00, Support <support@example.com> wrote:\n> Sam Agent replied to your ticket\n> Try turning it off and on.\n"


def test_a_reply_to_the_token_address_lands_on_its_ticket_without_the_quote(app):
    number, token = _ticket()
    result = intake.receive(mail("Ann <ann@example.org>", f"support+t{token}@example.com", "Re: x", QUOTED), "smtp")
    assert result["status"] == "reply" and result["ticket"] == number
    [(actor, data)] = _replies(number)
    assert actor == "customer" and data["text"] == "Thanks, that did it!" and data["via"] == "email"
    assert "Try turning it off" in data["original"]  # kept for staff


def test_notifications_carry_the_tokened_reply_to_and_a_reply_by_headers_threads(app, mailbox, deliver):
    number, token = _ticket()
    deliver()
    [sent] = mailbox.to("ann@example.org")
    assert sent["Reply-To"] == f"support+t{token}@example.com"
    assert re.fullmatch(r"[0-9a-f]{20}", token) and token != _ticket("bo@example.org")[1]
    # A mail program that replied to From instead: In-Reply-To names our mail.
    reply = mail("ann@example.org", "support@example.com", "Re: [#1]", "Still broken.",
                 headers={"In-Reply-To": sent["Message-ID"], "References": sent["Message-ID"]})
    assert intake.receive(reply, "imap")["ticket"] == number
    assert _replies(number)[0][1]["text"] == "Still broken."


def test_a_made_up_token_or_a_ticket_number_in_the_subject_opens_a_new_ticket(app):
    number, _token = _ticket()
    result = intake.receive(mail("ann@example.org", "support+t0123456789abcdef0123@example.com",
                                 f"Re: [#{number}] Blender", "Hello"), "smtp")
    assert result["status"] == "ticket" and result["ticket"] != number


def test_a_new_mail_opens_a_ticket_for_a_new_customer_without_a_password_and_confirms_it(app):
    result = intake.receive(mail("Bo Field <bo@example.org>", subject="Refund for order 55",
                                 body="I was charged twice for my order."), "smtp")
    assert result["status"] == "ticket"
    with session_scope() as s:
        t = s.get(Ticket, result["ticket"])
        assert (t.subject, t.source, t.customer.email, t.customer.name) == \
            ("Refund for order 55", "email", "bo@example.org", "Bo Field")
        assert t.customer.password_hash is None and t.category == "billing"
    confirmation = _last_mail("ticket_created")
    assert confirmation.to_addr == "bo@example.org" and f"#{result['ticket']}" in confirmation.subject


def test_a_known_address_gets_its_ticket_on_the_existing_customer(app, register):
    register("ann@example.com")
    result = intake.receive(mail("ANN@example.com", body="Where is my parcel?"), "smtp")
    with session_scope() as s:
        t = s.get(Ticket, result["ticket"])
        assert t.customer.password_hash is not None and s.query(Customer).count() == 1


def test_a_chat_visitor_who_typed_the_address_never_gets_the_mails_ticket(app):
    with session_scope() as s:
        s.add(Customer(email="victim@example.org", visitor_id="visitor-of-someone-else-0001"))
    first = intake.receive(mail("victim@example.org", body="Private matter."), "smtp")
    second = intake.receive(mail("victim@example.org", body="Another one."), "smtp")
    with session_scope() as s:
        owners = {s.get(Ticket, r["ticket"]).customer for r in (first, second)}
        assert len(owners) == 1 and owners.pop().visitor_id is None  # one mail customer, not the visitor


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(app):
    number, token = _ticket()
    lifecycle.set_status(number, "closed", "Sam")
    result = intake.receive(mail("ann@example.org", f"support+t{token}@example.com", "Re: x", "Broken again."), "smtp")
    assert result["status"] == "follow_up"
    with session_scope() as s:
        follow_up = s.get(Ticket, result["ticket"])
        assert follow_up.parent_id == number and follow_up.description == "Broken again."


@pytest.mark.parametrize("headers, sender", [
    ({"Auto-Submitted": "auto-replied"}, "ann@example.org"),
    ({"Precedence": "bulk"}, "ann@example.org"),
    ({"X-Autoreply": "yes"}, "ann@example.org"),
    ({}, "MAILER-DAEMON@mx.example.org"),
    ({}, "support@example.com"),
])
def test_automatic_mail_is_recorded_and_never_answered(app, headers, sender):
    before = _last_mail()
    result = intake.receive(mail(sender, headers=headers), "smtp")
    assert result["status"] == "loop" and result["ticket"] is None
    assert _last_mail() == before  # nothing queued to answer it
    with session_scope() as s:
        assert s.query(Ticket).count() == 0


def test_our_own_mail_coming_back_is_refused(app):
    number, _ = _ticket()
    ours = _last_mail()
    with session_scope() as s:
        own_id = outbox.message_id(s.get(OutboxMail, ours.id))
    echoed = mail("someone@example.org").replace(b"Message-ID: <", b"Message-ID: <x", 1)
    echoed = re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: " + own_id.encode(), echoed)
    assert intake.receive(echoed, "imap")["status"] == "loop"


def test_a_sender_over_the_hourly_limit_is_recorded_not_answered(app):
    app.config["INBOUND_SENDER_HOURLY"] = 3
    with app.app_context():
        results = [intake.receive(mail("flood@example.org", body=f"mail {i}"), "smtp")["status"] for i in range(5)]
    assert results == ["ticket"] * 3 + ["rate_limited"] * 2


def test_a_reply_from_another_address_is_held_until_staff_accept_it(app):
    number, token = _ticket()
    result = intake.receive(mail("stranger@example.net", f"support+t{token}@example.com", "Re", "Add me"), "smtp")
    assert result["status"] == "held" and _replies(number) == []
    assert [m["id"] for m in intake.listing(("held",))] == [result["id"]]
    accepted = intake.decide_held(result["id"], True, "Sam")
    assert accepted["status"] == "accepted"
    [(actor, data)] = _replies(number)
    assert data["text"] == "Add me" and data["sender"] == "stranger@example.net"
    with pytest.raises(Exception, match="no such held mail"):
        intake.decide_held(result["id"], False, "Sam")  # decided once


def test_a_held_mail_rejected_never_reaches_the_ticket(app):
    number, token = _ticket()
    result = intake.receive(mail("stranger@example.net", f"support+t{token}@example.com"), "smtp")
    assert intake.decide_held(result["id"], False, "Sam")["status"] == "rejected"
    assert _replies(number) == []


def test_html_only_mail_is_sanitised_and_read_as_text(app):
    html = ('<html><body><p>My <b>blender</b> smokes.</p><script>steal()</script>'
            '<p onclick="x()">Photo: <img src="https://tracker.example/p.gif"></p></body></html>')
    result = intake.receive(mail(body=None, html=html), "smtp")
    with session_scope() as s:
        record = s.get(InboundMail, result["id"])
        t = s.get(Ticket, result["ticket"])
        assert "<b>blender</b>" in record.html
        assert "script" not in record.html and "onclick" not in record.html and "tracker" not in record.html
        assert t.description.startswith("My blender smokes.") and "steal" not in t.description


def test_latin1_quoted_printable_mail_reads_right(app):
    result = intake.receive(LATIN1_QP, "imap")
    with session_scope() as s:
        t = s.get(Ticket, result["ticket"])
        assert t.subject == "Prüfung fehlgeschlagen" and t.description == "Der Mixer läuft nicht mehr, schöne Grüße."
        assert t.customer.name == "Renée Müller"


def test_a_malformed_message_is_kept_for_admins_and_nothing_breaks(app, client, make_agent):
    result = intake.receive(MALFORMED, "imap")
    assert result["status"] == "unreadable"
    assert intake.raw(result["id"]) == MALFORMED
    assert intake.receive(mail(), "imap")["status"] == "ticket"  # the next one goes on as usual


def test_the_same_mail_twice_lands_once(app):
    raw = mail(body="Only once, please.")
    first, second = intake.receive(raw, "imap"), intake.receive(raw, "smtp")
    assert second == {**first, "duplicate": True}
    with session_scope() as s:
        assert s.query(Ticket).count() == 1 and s.query(InboundMail).count() == 1


def test_a_mail_that_cannot_be_taken_is_kept_as_unreadable_not_retried_forever(app, monkeypatch):
    number, token = _ticket()

    def broken(*args, **kwargs):
        raise ValueError("something in this mail trips us up")

    monkeypatch.setattr(lifecycle, "reply_in", broken)
    raw = mail("ann@example.org", f"support+t{token}@example.com", "Re", "Hello")
    result = intake.receive(raw, "imap")
    assert result["status"] == "unreadable" and result["ticket"] is None
    assert "trips us up" in intake.listing(("unreadable",))[0]["reason"] and intake.raw(result["id"]) == raw
    assert intake.receive(raw, "imap")["duplicate"]  # taken once: the poller moves on


def test_undecodable_bytes_and_nul_become_replacement_characters(app):
    raw = (b"From: odd@example.org\r\nTo: support@example.com\r\nSubject: caf\xe9 \x00\r\n"
           b"Message-ID: <odd-1@example.org>\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nna\xefve \x00 text\r\n")
    result = intake.receive(raw, "imap")
    assert result["status"] == "ticket"
    with session_scope() as s:
        t = s.get(Ticket, result["ticket"])
        assert "\x00" not in t.description and "na" in t.description and "\x00" not in t.subject
