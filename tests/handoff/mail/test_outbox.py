"""The outbox: mail is committed with its cause and delivered once, even after an SMTP outage."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

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


def test_a_subject_with_line_breaks_is_sent_on_one_line(app, mailbox, deliver):
    cid = _customer()
    lifecycle.open_ticket(cid, "Help", "It broke", "billing", source="portal", actor="customer")
    with session_scope() as s:  # as the row an older version queued, straight from the customer's subject
        # a registered customer's mail carries the subject (an anonymous requester's does not: finding 13)
        outbox.queue(s, "cy@example.com", "ticket_created", ticket=_FakeTicket(7, "Hi\r\nBcc: all@example.com"),
                     customer=SimpleNamespace(password_hash="registered"), name="Cy", status_words={})
    assert deliver() == 2
    subjects = [m["Subject"] for m in mailbox.to("cy@example.com")]
    assert "[#7] We received your request: Hi Bcc: all@example.com" in subjects
    assert all(m["Bcc"] is None for m in mailbox.messages)


class _FakeTicket:
    def __init__(self, id, subject):
        self.id, self.subject, self.status, self.description = id, subject, "new", "d"


def test_one_unsendable_mail_never_blocks_the_outbox(app, mailbox, deliver):
    cid = _customer()
    with session_scope() as s:  # a row no header can carry, however it got there
        s.add(OutboxMail(to_addr="cy@example.com\r\nBcc: x@example.com", subject="Hi", text="t", html="<p>t</p>",
                         kind="ticket_created"))
    lifecycle.open_ticket(cid, "Later", "Queued after the bad one", "billing", source="portal", actor="customer")
    assert deliver() == 1
    assert [m["Subject"] for m in mailbox.messages] == ["[#1] We received your request"]
    with session_scope() as s:
        bad = s.get(OutboxMail, 1)
        assert bad.sent_at is None and bad.attempts == 1 and bad.last_error
    assert deliver(now=utcnow() + timedelta(days=1)) == 0  # given up, not retried for ever
    assert outbox.recent()[-1]["gave_up"] is True


def test_a_refused_address_is_given_up_and_the_rest_is_sent(app, mailbox):
    from aiosmtpd.controller import Controller

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("gone@"):
                return "550 No such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            mailbox.messages.append(envelope.rcpt_tos)
            return "250 OK"

    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        lifecycle.open_ticket(_customer("gone@example.com"), "A", "a", "billing", source="portal", actor="c")
        lifecycle.open_ticket(_customer("here@example.com"), "B", "b", "billing", source="portal", actor="c")
        assert outbox.deliver_due(outbox.SmtpSender("127.0.0.1", port)) == 1
        assert outbox.deliver_due(outbox.SmtpSender("127.0.0.1", port), now=utcnow() + timedelta(hours=1)) == 0
    finally:
        controller.stop()
    assert mailbox.messages == [["here@example.com"]]
    gone = [m for m in outbox.recent() if m["to"] == "gone@example.com"][0]
    assert gone["gave_up"] and "550" in gone["last_error"]


def test_a_failed_quit_after_the_server_took_the_mail_does_not_send_it_again(app, mailbox):
    from aiosmtpd.controller import Controller

    class GrumpyQuit:
        async def handle_DATA(self, server, session, envelope):
            mailbox.messages.append(envelope.content)
            return "250 OK"

        async def handle_QUIT(self, server, session, envelope):
            return "421 Closing anyway"

    port = free_port()
    controller = Controller(GrumpyQuit(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        lifecycle.open_ticket(_customer(), "Help", "It broke", "billing", source="portal", actor="customer")
        assert outbox.deliver_due(outbox.SmtpSender("127.0.0.1", port)) == 1
        assert outbox.deliver_due(outbox.SmtpSender("127.0.0.1", port), now=utcnow() + timedelta(hours=1)) == 0
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1


class _Crash(BaseException):
    """The process dying: not an error the worker could catch."""


def test_a_crash_after_the_server_took_the_mail_resends_it_once_with_the_same_message_id(app, mailbox, deliver):
    lifecycle.open_ticket(_customer(), "Help", "It broke", "billing", source="portal", actor="customer")
    smtp = outbox.SmtpSender("127.0.0.1", mailbox.port)

    class DiesAfterSending:
        def send(self, message):
            smtp.send(message)
            raise _Crash()

    now = utcnow()
    try:
        outbox.deliver_due(DiesAfterSending(), now=now)
    except _Crash:
        pass
    assert deliver(now=now + timedelta(seconds=30)) == 0  # the claim holds: a second worker does not resend
    assert deliver(now=now + outbox.CLAIM + timedelta(seconds=1)) == 1
    assert deliver(now=now + timedelta(hours=1)) == 0
    first, again = mailbox.messages
    assert first["Message-ID"] == again["Message-ID"] and first["Message-ID"].endswith("@example.com>")


def test_a_slow_run_keeps_its_claims_so_a_second_worker_does_not_send_the_same_mail(app, mailbox, monkeypatch):
    import time

    monkeypatch.setattr(outbox, "CLAIM", timedelta(seconds=1))
    for n in range(2):
        lifecycle.open_ticket(_customer(f"c{n}@example.com"), "Help", "x", "billing", source="portal", actor="c")
    smtp = outbox.SmtpSender("127.0.0.1", mailbox.port)
    second_worker = []

    class Slow:
        def send(self, message):
            if message["To"] == "c0@example.com":
                time.sleep(1.5)  # longer than a claim: the run goes on into the second mail late
            else:  # meanwhile another process runs the outbox
                second_worker.append(outbox.deliver_due(smtp))
            smtp.send(message)

    assert outbox.deliver_due(Slow()) == 2
    assert second_worker == [0]
    from tests.fakes import wait_for
    wait_for(lambda: len(mailbox.messages) >= 2)
    assert sorted(m["To"] for m in mailbox.messages) == ["c0@example.com", "c1@example.com"]


def test_mail_files_are_readable_only_by_the_service(app, tmp_path):
    lifecycle.open_ticket(_customer(), "Help", "It broke", "billing", source="portal", actor="customer")
    folder = tmp_path / "mail"
    outbox.deliver_due(outbox.FolderSender(folder))
    (eml,) = folder.glob("*.eml")
    assert folder.stat().st_mode & 0o777 == 0o700 and eml.stat().st_mode & 0o777 == 0o600


def test_assign_then_reassign_within_the_hold_mails_the_customer_once(app, make_agent, mailbox, deliver):
    sam, kim = make_agent(), make_agent("Kim Agent")
    with session_scope() as s:
        customer = Customer(email="ann@example.com", name="Ann")
        s.add(customer)
        s.flush()
        customer_id = customer.id
    number = lifecycle.open_ticket(customer_id, "Parcel late", "It is late", "orders", source="portal",
                                   actor="customer")["number"]
    lifecycle.assign(number, sam["id"], "Ada Admin")
    lifecycle.assign(number, kim["id"], "Ada Admin")

    def about_the_agent():
        return [m["Subject"] for m in mailbox.to("ann@example.com") if "looking after" in m["Subject"]]

    deliver()
    assert about_the_agent() == [], "held for the coalescing window"
    deliver(now=utcnow() + timedelta(seconds=61))
    assert about_the_agent() == [f"[#{number}] Kim Agent is looking after your request"]
