"""The SMTP listener, sent to with smtplib on a free loopback port, as a local mail server would."""
from __future__ import annotations

import smtplib

import pytest

from handoff.db import session_scope
from handoff.inbound import smtp
from handoff.models import Customer, Ticket, TicketEvent
from handoff.tickets import lifecycle
from tests.fakes import free_port
from tests.handoff.inbound.mails import LATIN1_QP, MALFORMED, mail


@pytest.fixture
def listener(app):
    port = free_port()
    controller = smtp.listener(app, "127.0.0.1", port)
    yield port
    controller.stop()


def _send(port, raw: bytes, rcpt="support@example.com", sender="x@example.org"):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [rcpt], raw)


def test_a_new_mail_and_a_tokened_reply_arrive_over_smtp(app, listener):
    _send(listener, mail("Bo <bo@example.org>", body="My order never came."), sender="bo@example.org")
    with session_scope() as s:
        t = s.query(Ticket).one()
        number, token = t.id, t.reply_token
        assert t.source == "email" and t.customer.email == "bo@example.org"
    address = f"support+t{token}@example.com"
    _send(listener, mail("bo@example.org", address, "Re: x", "Found it, thanks."), rcpt=address)
    with session_scope() as s:
        texts = [e.data["text"] for e in s.query(TicketEvent).filter_by(ticket_id=number, kind="reply")]
    assert texts == ["Found it, thanks."]


def test_other_recipients_are_refused_so_it_relays_nothing(listener):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(listener, mail(), rcpt="someone@elsewhere.example")


@pytest.mark.parametrize("raw", [LATIN1_QP, MALFORMED], ids=["latin1", "malformed"])
def test_odd_mail_is_accepted_and_kept(app, listener, raw):
    _send(listener, raw)  # 250: the server may forget it, we have it
    from handoff.inbound import intake
    assert intake.listing()[0]["status"] in ("ticket", "unreadable")


def test_a_database_outage_defers_the_mail_for_the_server_to_retry(app, listener, monkeypatch):
    from handoff.inbound import intake

    def down(*a, **k):
        raise OSError("database unreachable")

    monkeypatch.setattr(intake, "receive", down)
    with pytest.raises(smtplib.SMTPDataError) as err:
        _send(listener, mail())
    assert err.value.smtp_code == 451
    with session_scope() as s:
        assert s.query(Customer).count() == 0
