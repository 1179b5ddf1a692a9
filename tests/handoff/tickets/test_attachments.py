"""Files on tickets: limits and types refused with a clear message, photos previewed, everything else only
downloaded, and nobody but the ticket's customer and its staff gets a file."""
from __future__ import annotations

import io
import stat
import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from handoff.db import session_scope
from handoff.inbound import intake
from handoff.models import Attachment, TicketEvent
from handoff.tickets import lifecycle
from tests.handoff.conftest import PASSWORD
from tests.handoff.inbound.mails import mail


def png() -> bytes:
    """A real 1x1 PNG, as a phone would send (smaller)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def ann_ticket(register):
    http = register("ann@example.com")
    resp = http.post("/portal/new", data={"subject": "Damaged blender", "description": "It arrived cracked.",
                                          "category": "orders"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return http, int(resp.headers["Location"].rstrip("/").split("/")[-1])


def _reply(http, number, *files, text="Here is a photo."):
    data = {"text": text, "files": [(io.BytesIO(content), name) for name, content in files]}
    return http.post(f"/portal/tickets/{number}/reply", data=data, content_type="multipart/form-data",
                     follow_redirects=True)


def _attachments() -> list[Attachment]:
    with session_scope() as s:
        return list(s.scalars(select(Attachment).order_by(Attachment.id)))


def test_a_photo_is_stored_privately_previewed_and_served_only_to_those_who_may_see_it(app, ann_ticket, register,
                                                                                         make_agent):
    http, number = ann_ticket
    page = _reply(http, number, ("damage.png", png())).get_data(as_text=True)
    [a] = _attachments()
    assert f'src="/portal/attachments/{a.id}"' in page and "damage.png" in page
    resp = http.get(f"/portal/attachments/{a.id}")
    assert resp.status_code == 200 and resp.data == png() and resp.mimetype == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in resp.headers["Content-Security-Policy"]
    stored = Path(app.config["ATTACHMENT_DIR"]) / a.sha256[:2] / a.sha256
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(app.config["ATTACHMENT_DIR"]).stat().st_mode) == 0o700
    other = register("bo@example.com", name="Bo")
    assert other.get(f"/portal/attachments/{a.id}").status_code == 404
    assert app.test_client().get(f"/portal/attachments/{a.id}").status_code in (302, 401)
    sam = make_agent()
    staff = app.test_client()
    staff.post("/login", data={"email": sam["email"], "password": PASSWORD})
    assert staff.get(f"/console/attachments/{a.id}").data == png()
    assert f'src="/console/attachments/{a.id}"' in staff.get(f"/console/tickets/{number}").get_data(as_text=True)


def test_html_named_as_a_photo_is_only_ever_a_download(app, ann_ticket):
    http, number = ann_ticket
    _reply(http, number, ("cute.png", b"<html><script>alert(document.cookie)</script></html>"))
    [a] = _attachments()
    assert a.content_type == "text/html"
    resp = http.get(f"/portal/attachments/{a.id}")
    assert resp.mimetype == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("files, message", [
    ([("setup.pdf", b"MZ\x90\x00" + b"\x00" * 200)], "is a program or script"),
    ([("notes.txt.bat", b"echo hi")], "is a program or script"),
    ([("big.png", png() + b"\x00" * 3000)], "is too large"),
    ([(f"p{i}.png", png()) for i in range(3)], "at most 2 files"),
])
def test_refused_files_say_why_and_change_nothing(app, ann_ticket, files, message):
    app.config.update(ATTACHMENT_MAX_BYTES=2048, ATTACHMENT_MAX_COUNT=2)
    http, number = ann_ticket
    page = _reply(http, number, *files).get_data(as_text=True)
    assert message in page
    assert _attachments() == []
    with session_scope() as s:
        assert s.scalars(select(TicketEvent).where(TicketEvent.kind == "reply")).all() == []


def test_a_mailed_photo_lands_with_the_reply_and_an_oversized_one_is_named(app, ann_ticket):
    http, number = ann_ticket
    app.config.update(ATTACHMENT_MAX_BYTES=4096)
    token = lifecycle.reply_token(number)
    raw = mail("ann@example.com", f"support+t{token}@example.com", "Re: Damaged blender", "Photos attached.")
    from email import message_from_bytes, policy
    msg = message_from_bytes(raw, policy=policy.default)
    msg.add_attachment(png(), maintype="image", subtype="png", filename="crack.png")
    msg.add_attachment(b"\x00" * 5000, maintype="application", subtype="octet-stream", filename="video.bin")
    with app.app_context():
        assert intake.receive(bytes(msg), "smtp")["status"] == "reply"
    [a] = _attachments()
    assert a.name == "crack.png" and a.content_type == "image/png"
    page = http.get(f"/portal/tickets/{number}").get_data(as_text=True)
    assert f'src="/portal/attachments/{a.id}"' in page and "Photos attached." in page
    with session_scope() as s:
        reply = s.scalars(select(TicketEvent).where(TicketEvent.kind == "reply")).one()
        assert "video.bin" in reply.data["not_kept"][0] and "too large" in reply.data["not_kept"][0]


def test_an_agents_file_goes_out_with_the_reply_mail_and_a_notes_file_stays_with_staff(app, ann_ticket, make_agent,
                                                                                       mailbox, deliver):
    http, number = ann_ticket
    sam = make_agent()
    staff = app.test_client()
    staff.post("/login", data={"email": sam["email"], "password": PASSWORD})
    deliver()  # the ticket's confirmation, out of the way
    receipt = b"%PDF-1.4\n% the return label\n"
    resp = staff.post(f"/console/tickets/{number}/reply", content_type="multipart/form-data", follow_redirects=True,
                      data={"text": "Print this label, please.", "files": [(io.BytesIO(receipt), "label.pdf")]})
    assert "Reply sent" in resp.get_data(as_text=True)
    staff.post(f"/console/tickets/{number}/reply", content_type="multipart/form-data",
               data={"text": "Fraud check done.", "internal": "1", "files": [(io.BytesIO(png()), "check.png")]})
    deliver()
    [sent] = [m for m in mailbox.to("ann@example.com") if "Print this label" in mailbox.text(m)]
    [part] = list(sent.iter_attachments())
    assert part.get_filename() == "label.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_content() == receipt
    label, note_file = _attachments()
    assert http.get(f"/portal/attachments/{label.id}").data == receipt
    assert http.get(f"/portal/attachments/{note_file.id}").status_code == 404
    assert "check.png" not in http.get(f"/portal/tickets/{number}").get_data(as_text=True)
