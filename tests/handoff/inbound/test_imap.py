"""Polling a real Dovecot over IMAPS on loopback: mail lands on tickets once, and leaves the inbox."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from handoff.db import session_scope
from handoff.inbound import imap, intake
from handoff.models import InboundMail, Ticket, TicketEvent
from handoff.tickets import lifecycle
from tests.fakes import wait_for
from tests.handoff.inbound.conftest import PASSWORD, USER
from tests.handoff.inbound.mails import LATIN1_QP, MALFORMED, mail


@pytest.fixture
def box(app, dovecot):
    mailbox = imap.Mailbox("127.0.0.1", dovecot.port, USER, PASSWORD, cafile=str(dovecot.cert), interval=2)
    client = mailbox.connect()
    for folder in ("INBOX", "Processed"):  # the server lives for the session: start each test empty
        client.select_folder(folder)
        client.delete_messages(client.search(["ALL"]))
        client.expunge()
    client.select_folder("INBOX")
    mailbox.client = client
    yield mailbox
    imap._close(client)


def _append(box, *raws: bytes) -> None:
    for raw in raws:
        box.client.append("INBOX", raw)


def _count(box, folder: str) -> int:
    return box.client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"]


def test_polled_mail_is_threaded_refused_held_and_read_in_any_charset(app, box):
    first = intake.receive(mail("ann@example.org", body="Kettle leaks."), "smtp")
    with session_scope() as s:
        token = s.get(Ticket, first["ticket"]).reply_token
    to = f"support+t{token}@example.com"
    _append(box,
            mail("ann@example.org", to, "Re: Kettle", "Photo attached soon.\n\n> quoted history"),
            mail("stranger@example.net", to, "Re: Kettle", "I am her neighbour."),
            mail("ann@example.org", headers={"Auto-Submitted": "auto-replied"}, body="I am on holiday."),
            mail("new@example.org", subject="Hello", body=None, html="<p>Hi <b>there</b></p><script>x</script>"),
            LATIN1_QP, MALFORMED)
    assert imap.fetch_once(app, box, box.client) == 6
    statuses = [m["status"] for m in reversed(intake.listing())][1:]
    assert statuses == ["reply", "held", "loop", "ticket", "ticket", "unreadable"]
    with session_scope() as s:
        replies = [e.data["text"] for e in s.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == first["ticket"], TicketEvent.kind == "reply"))]
        assert replies == ["Photo attached soon."]
        subjects = {t.subject for t in s.scalars(select(Ticket))}
        assert {"Hello", "Prüfung fehlgeschlagen"} <= subjects
    box.client.select_folder("INBOX")
    assert _count(box, "INBOX") == 0 and _count(box, "Processed") == 6
    assert imap.fetch_once(app, box, box.client) == 0


class Killed(BaseException):
    """The process dying: not an error anything may catch."""


def test_a_poller_killed_while_fetching_lands_every_message_once_after_restart(app, box, monkeypatch):
    raws = [mail(f"c{i}@example.org", body=f"Problem number {i}") for i in range(6)]
    _append(box, *raws)
    real, taken = intake.receive, []

    def dies_after_the_third(raw, source, recipients=None):
        result = real(raw, source, recipients)
        taken.append(result)
        if len(taken) == 3:
            raise Killed  # committed, but not yet moved out of the inbox
        return result

    monkeypatch.setattr(intake, "receive", dies_after_the_third)
    with pytest.raises(Killed):
        imap.fetch_once(app, box, box.client)
    imap._close(box.client)
    monkeypatch.setattr(intake, "receive", real)
    box.client = box.connect()  # the restarted poller
    assert imap.fetch_once(app, box, box.client) == 4  # the third again (a duplicate), and three new
    with session_scope() as s:
        assert s.query(InboundMail).count() == 6
        assert sorted(t.description for t in s.scalars(select(Ticket))) == [f"Problem number {i}" for i in range(6)]
    assert _count(box, "INBOX") == 0 and _count(box, "Processed") == 6


def test_the_running_poller_takes_new_mail_as_it_arrives(app, box):
    stop = threading.Event()
    worker = threading.Thread(target=imap.run, args=(app, box, stop), daemon=True)
    worker.start()
    try:
        _append(box, mail("live@example.org", body="Arrived while idling."))
        wait_for(lambda: any(m["status"] == "ticket" for m in intake.listing()), timeout=15)
    finally:
        stop.set()
        worker.join(15)
    assert not worker.is_alive()
    with session_scope() as s:
        assert s.scalars(select(Ticket)).one().description == "Arrived while idling."


def test_a_wrong_password_is_refused_without_plaintext_fallback(box):
    from imapclient.exceptions import LoginError

    wrong = imap.Mailbox(box.host, box.port, USER, "wrong", cafile=box.cafile)
    with pytest.raises(LoginError):
        wrong.connect()
    with pytest.raises(ValueError, match="TLS|ssl"):
        imap.Mailbox(box.host, box.port, USER, PASSWORD, tls="none").connect()
