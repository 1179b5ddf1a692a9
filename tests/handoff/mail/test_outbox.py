"""The outbox: mail is committed with its cause and delivered once, even after an SMTP outage."""
from __future__ import annotations

from datetime import timedelta

from handoff.db import session_scope
from handoff.mail import outbox
from handoff.models import Customer, OutboxMail, utcnow
from handoff.tickets import lifecycle
from tests.fakes import free_port


def _customer(email="cy@example.com") -> int:
    with session_scope() as s:
        c = Customer(email=email, name="Cy")
        s.add(c)
        s.flush()
        return c.id


def test_mail_survives_an_smtp_outage_and_arrives_once(app, mailbox, deliver):
    cid = _customer()
    lifecycle.open_ticket(cid, "Help", "It broke", "technical", source="portal", actor="customer")
    down = outbox.SmtpSender("127.0.0.1", free_port(), timeout=2)
    now = utcnow()
    for minutes in range(0, 60, 5):  # an hour of failures
        outbox.deliver_due(down, now=now + timedelta(minutes=minutes))
    with session_scope() as s:
        pending = s.query(OutboxMail).one()
        assert pending.sent_at is None and pending.attempts >= 3 and "ConnectionRefused" in pending.last_error
    assert deliver(now=now + timedelta(hours=1, minutes=6)) == 1
    assert deliver(now=now + timedelta(hours=2)) == 0
    assert [m["Subject"] for m in mailbox.to("cy@example.com")] == ["[#1] We received your request"]


def test_no_mail_without_its_cause(app):
    cid = _customer()
    try:
        lifecycle.open_ticket(cid, "x", "", "technical", source="portal", actor="customer")
    except Exception:
        pass
    with session_scope() as s:
        assert s.query(OutboxMail).count() == 0


def test_folder_delivery_when_no_smtp_is_configured(app, tmp_path):
    cid = _customer()
    lifecycle.open_ticket(cid, "Help", "It broke", "billing", source="portal", actor="customer")
    assert outbox.deliver_due(outbox.FolderSender(tmp_path)) == 1
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1 and b"We received your request" in files[0].read_bytes()


def test_html_part_escapes_customer_text(app, mailbox, deliver, make_agent):
    cid = _customer()
    number = lifecycle.open_ticket(cid, "<script>x</script>", "d", "billing", source="portal", actor="c")["number"]
    lifecycle.agent_reply(number, "Sam", "<b>not bold</b>")
    deliver()
    html = mailbox.messages[-1].get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
