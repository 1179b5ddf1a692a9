"""A customer sends a photo of the damage from the widget during a live chat: both sides see its preview;
a program is refused with a clear error; the agent's file reaches the customer as a download; in Chromium."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_mail_and_files_in_browser import png


def test_a_photo_and_a_file_both_ways_in_the_live_chat(browser, stack, tmp_path):
    sam = stack.logins["agentSam"]
    agent_page = browser.new_context().new_page()
    agent_page.goto(f"{stack.url}/login")
    agent_page.fill("#email", sam["email"])
    agent_page.fill("#password", sam["password"])
    agent_page.click("#login-submit")
    expect(agent_page.locator("#connection-status")).to_have_attribute("data-state", "online", timeout=10_000)

    customer = browser.new_context().new_page()
    customer.goto(f"{stack.url}/")
    customer.click("#ccr-launcher")
    customer.fill("#ccr-input", "I want to talk to a real person")
    customer.click("#ccr-send")
    expect(customer.locator("#ccr-status")).to_have_attribute("data-status", "queued", timeout=30_000)
    agent_page.locator(".queue-item").first.locator(".accept-btn").click()
    expect(customer.locator("#ccr-status")).to_contain_text("Sam Agent", timeout=10_000)

    (tmp_path / "damage.png").write_bytes(png())
    customer.set_input_files("#ccr-file", str(tmp_path / "damage.png"))
    mine = customer.locator('.ccr-msg[data-sender="customer"] img.ccr-file-preview').last
    expect(mine).to_be_visible(timeout=10_000)
    customer.wait_for_function("(img) => img.complete && img.naturalWidth === 40", arg=mine.element_handle())
    theirs = agent_page.locator('#transcript .msg[data-sender="customer"] img.msg-file-preview').last
    expect(theirs).to_be_visible(timeout=10_000)
    agent_page.wait_for_function("(img) => img.complete && img.naturalWidth === 40", arg=theirs.element_handle())

    (tmp_path / "viewer.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    customer.set_input_files("#ccr-file", str(tmp_path / "viewer.exe"))
    expect(customer.locator("#ccr-error")).to_contain_text("“viewer.exe” is a program or script")
    expect(agent_page.locator("#transcript")).not_to_contain_text("viewer.exe")

    (tmp_path / "manual.pdf").write_bytes(b"%PDF-1.4\n% the manual\n")
    agent_page.set_input_files("#attach-input", str(tmp_path / "manual.pdf"))
    download = customer.locator('.ccr-msg[data-sender="agent"] .ccr-file').last
    expect(download).to_contain_text("Download manual.pdf", timeout=10_000)
    with customer.expect_download() as got:
        download.click()
    assert got.value.suggested_filename == "manual.pdf"
