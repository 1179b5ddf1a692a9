"""A full service process, in Debian's Chromium: the widget says the chat is busy and offers the ticket form,
without retrying, and a visitor who comes back once a place is free gets the chat."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.clients import Customer
from tests.e2e.conftest import FULL_LIMIT


def test_a_full_chat_shows_busy_with_a_way_to_leave_a_message(browser, full_service):
    inside = [Customer(full_service, f"full-browser-visitor-{i}").connect() for i in range(FULL_LIMIT)]
    page = browser.new_context().new_page()
    try:
        page.goto(f"{full_service}/")
        page.click("#ccr-launcher")
        notice = page.locator("#ccr-connection")
        expect(notice).to_contain_text("Our chat is busy right now", timeout=15_000)
        link = notice.locator("a")
        expect(link).to_have_text("Leave a message")
        expect(link).to_have_attribute("href", re.compile(r"/portal/new$"))
        page.wait_for_timeout(2_000)  # the refusal is final: the widget does not knock again and again
        expect(notice).not_to_contain_text("Reconnecting")
        assert all(c.say(f"still served {i}")["ok"] for i, c in enumerate(inside)), "those inside go on"

        # The link leads to the ticket form, through the log-in for a visitor who has none yet.
        form = browser.new_context().new_page()
        form.goto(f"{full_service}/portal/new")
        expect(form).to_have_url(re.compile(r"/portal/login\?next=(/|%2F)portal(/|%2F)new$"))
        expect(form.locator("#email")).to_be_visible()
        form.context.close()

        inside.pop().close()  # a place frees up: the same visitor, back on the page, gets the chat
        page.reload()  # the panel was open, so it opens again by itself
        expect(page.locator("#ccr-input")).to_be_visible()
        page.fill("#ccr-input", "hello, are you there now?")
        page.click("#ccr-send")
        expect(page.locator('.ccr-msg[data-sender="customer"]').last).not_to_have_class("ccr-pending",
                                                                                       timeout=15_000)
        expect(notice).to_be_hidden()
    finally:
        page.context.close()
        for customer in inside:
            customer.close()
