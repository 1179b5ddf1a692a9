"""Outside business hours, in Debian's Chromium: an admin closes the desk, a customer asking for a person
is told when someone is back (in their own time zone) and offered a ticket instead of the queue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _desk_hours(page, url, fields: dict) -> None:
    page.goto(f"{url}/admin/routing")
    form = page.locator("#hours-form-desk")
    for name in ("tz", *DAYS):
        form.locator(f"[name={name}]").fill(fields.get(name, ""))
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("business hours saved")


def test_a_closed_desk_offers_a_ticket_and_says_when_a_person_is_back(browser, stack):
    admin = stack.logins["admin"]
    admin_page = browser.new_context().new_page()
    admin_page.goto(f"{stack.url}/login")
    admin_page.fill("#email", admin["email"])
    admin_page.fill("#password", admin["password"])
    admin_page.click("#login-submit")
    opens = datetime.now(timezone.utc) + timedelta(days=3)
    _desk_hours(admin_page, stack.url, {"tz": "UTC", DAYS[opens.weekday()]: "09:00-10:00"})
    try:
        customer = browser.new_context(timezone_id="America/New_York", locale="en-US").new_page()
        customer.goto(f"{stack.url}/")
        customer.click("#ccr-launcher")
        customer.fill("#ccr-input", "I want to talk to a real person")
        customer.click("#ccr-send")
        notice = customer.locator("#ccr-connection")
        # 09:00 UTC is 04:00 in New York in December.
        expect(notice).to_contain_text("Our team is away right now; a person is back", timeout=30_000)
        expect(notice).to_contain_text("04:00")
        expect(notice.locator("a")).to_have_text("Leave a message")
        expect(customer.locator('.ccr-msg[data-sender="system"]').last).to_contain_text("Leave us a ticket")
        expect(customer.locator("#ccr-status")).not_to_have_attribute("data-status", "queued")
    finally:
        _desk_hours(admin_page, stack.url, {})
