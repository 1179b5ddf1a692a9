"""A customer attaches a photo to their ticket in the portal and sees its preview; a program is refused
with a clear error and another customer cannot open the photo; then they answer our mail by replying to
it, through the stack's own SMTP listener, and the reply shows on the ticket; in Chromium."""
from __future__ import annotations

import smtplib
import struct
import uuid
import zlib
from email.message import EmailMessage
from email.utils import parseaddr

from playwright.sync_api import expect

from tests.browser.test_ticket_lifecycle_in_browser import open_ticket, register_customer, wait_for_mail


def png(width=40, height=30) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_photo_in_the_portal_and_a_reply_by_mail(browser, stack, tmp_path):
    url, address = stack.url, f"dana-{uuid.uuid4().hex[:8]}@example.com"
    page = browser.new_context().new_page()
    register_customer(page, stack, address)
    number = open_ticket(page, url)

    (tmp_path / "crack.png").write_bytes(png())
    page.fill("#reply-text", "Here is the crack.")
    page.set_input_files("#reply-files", str(tmp_path / "crack.png"))
    page.click("#reply-submit")
    preview = page.locator("#timeline img.attachment-preview")
    expect(preview).to_be_visible()
    # Visible comes before loaded; on a slow host the image's bytes can arrive a moment later.
    page.wait_for_function("(img) => img.complete", arg=preview.element_handle(), timeout=10_000)
    assert page.evaluate("(img) => img.naturalWidth", preview.element_handle()) == 40
    photo_url = url + preview.get_attribute("src")

    (tmp_path / "viewer.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    page.fill("#reply-text", "And the viewer for it.")
    page.set_input_files("#reply-files", str(tmp_path / "viewer.exe"))
    page.click("#reply-submit")
    expect(page.locator("body")).to_contain_text("“viewer.exe” is a program or script")
    expect(page.locator("#timeline")).not_to_contain_text("And the viewer for it.")

    stranger = browser.new_context().new_page()
    register_customer(stranger, stack, f"eve-{uuid.uuid4().hex[:8]}@example.com")
    assert stranger.request.get(photo_url).status == 404

    confirmation = wait_for_mail(stack, address, f"#{number}")
    reply_to = parseaddr(str(confirmation["Reply-To"]))[1]
    assert reply_to.startswith("support+t")
    answer = EmailMessage()
    answer["From"], answer["To"], answer["Subject"] = address, reply_to, f"Re: {confirmation['Subject']}"
    answer["In-Reply-To"] = confirmation["Message-ID"]
    answer.set_content("It also rattles now.\n\nOn Monday, Support wrote:\n> We received your request")
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=10) as smtp:
        smtp.send_message(answer)
    page.reload()
    reply = page.locator('#timeline .msg[data-kind="reply"][data-sender="customer"]').last
    expect(reply).to_contain_text("It also rattles now.")
    expect(reply).not_to_contain_text("We received your request")
