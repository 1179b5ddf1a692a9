"""A customer registers, opens a ticket in the portal, an agent takes it and replies in the console, the customer
sees the reply on the page and in their mail, the agent resolves it and the customer rates it; in Chromium."""
from __future__ import annotations

import email
import re
import time
import uuid
from email import policy

from playwright.sync_api import Page, expect

PASSWORD = "parcel-tracking-42"
REPLY = "Your parcel left our warehouse today; tracking number NW-4411."


def received_mail(stack) -> list:
    """Every mail the service delivered: from the test SMTP server when the stack has one, else the
    .eml files the service writes to <var_dir>/mail when no SMTP server is configured."""
    mailbox = getattr(stack, "mailbox", None)
    if mailbox is not None:
        found = mailbox.messages if hasattr(mailbox, "messages") else mailbox
        found = found() if callable(found) else found
        return [m if isinstance(m, email.message.Message) else email.message_from_bytes(m, policy=policy.default)
                for m in found]
    folder = stack.stack.var_dir / "mail"
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(folder.glob("*.eml"))] if folder.is_dir() else []


def wait_for_mail(stack, to: str, containing: str, timeout: float = 45) -> email.message.EmailMessage:
    """Delivery runs every MAIL_INTERVAL seconds (10 by default), so the mail may take a while."""
    deadline = time.monotonic() + timeout
    while True:
        for message in received_mail(stack):
            if to in str(message["To"]):
                body = message.get_body(preferencelist=("plain",))
                if body is not None and containing in body.get_content():
                    return message
        if time.monotonic() > deadline:
            seen = [(str(m["To"]), str(m["Subject"])) for m in received_mail(stack)]
            raise AssertionError(f"No mail to {to} containing {containing!r} within {timeout}s; got {seen}")
        time.sleep(1)


def register_customer(page: Page, stack, address: str) -> None:
    url = stack.url
    page.goto(f"{url}/")  # the widget gives this browser a visitor id, which the confirmation carries along
    visitor_id = page.evaluate("() => localStorage.getItem('ccr_visitor_id')")
    page.click("#nav-register")
    page.fill("#name", "Casey Customer")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("#register-submit")
    # The same answer for a new or a taken address; the account is usable once the mailed link confirms it.
    expect(page.locator("#register-sent")).to_contain_text(address)
    mail = wait_for_mail(stack, address, "Confirm that this address is yours")
    link = re.search(r"https?://\S+/portal/verify/\S+", mail.get_body(preferencelist=("plain",)).get_content())
    page.goto(link.group(0))
    expect(page.locator("#visitor-id")).to_have_value(visitor_id or "")
    page.click("#verify-submit")
    expect(page).to_have_url(f"{url}/portal/")
    expect(page.locator("#nav-my-tickets")).to_be_visible()


def open_ticket(page: Page, url: str) -> int:
    page.click("#new-ticket-link")
    page.fill("#ticket-subject", "Parcel never arrived")
    page.select_option("#ticket-category", "orders")
    page.fill("#ticket-description", "I ordered a Smart Mug two weeks ago and it has not arrived.")
    page.click("#ticket-submit")
    header = page.locator("#ticket")
    expect(header).to_be_visible()
    number = int(header.get_attribute("data-ticket-number"))
    expect(page).to_have_url(f"{url}/portal/tickets/{number}")
    expect(page.locator("#ticket-status")).to_contain_text("New")
    return number


def log_in_agent(page: Page, url: str, person: dict) -> None:
    page.goto(f"{url}/login")
    page.fill("#email", person["email"])
    page.fill("#password", person["password"])
    page.click("#login-submit")
    expect(page).to_have_url(f"{url}/console")


def test_ticket_from_portal_to_rating(browser, stack):
    url, address = stack.url, f"casey-{uuid.uuid4().hex[:8]}@example.com"
    customer = browser.new_context().new_page()
    register_customer(customer, stack, address)
    number = open_ticket(customer, url)

    sam = stack.logins["agentSam"]
    agent = browser.new_context().new_page()
    log_in_agent(agent, url, sam)
    agent.click("#nav-tickets")
    row = agent.locator(f'#unassigned-table tr[data-ticket-number="{number}"]')
    expect(row).to_contain_text("Parcel never arrived")
    row.locator(".take-btn").click()
    expect(agent).to_have_url(f"{url}/console/tickets/{number}")
    expect(agent.locator("#ticket-assignee")).to_have_text(sam["name"])

    agent.fill("#reply-text", REPLY)
    agent.click("#reply-submit")
    expect(agent.locator('#timeline .msg[data-kind="reply"][data-sender="agent"]')).to_contain_text(REPLY)

    customer.reload()
    expect(customer.locator("#timeline")).to_contain_text(f"{sam['name']} is looking after it.")
    expect(customer.locator('#timeline .msg[data-kind="reply"][data-sender="agent"]')).to_contain_text(REPLY)
    mail = wait_for_mail(stack, address, REPLY)
    assert f"#{number}" in str(mail["Subject"])

    agent.select_option("#status-select", "resolved")
    agent.click("#status-submit")
    expect(agent.locator("#ticket-status")).to_contain_text("Resolved")

    customer.reload()
    expect(customer.locator("#ticket-status")).to_contain_text("Resolved")
    customer.check("#rating-5")
    customer.fill("#rating-comment", "Quick and friendly, thank you!")
    customer.click("#rate-submit")
    expect(customer.locator("#rating-given")).to_contain_text("5 out of 5")
    expect(customer.locator("#rating-given")).to_contain_text("Quick and friendly, thank you!")
    expect(customer.locator("#rate")).to_have_count(0)

    agent.reload()
    expect(agent.locator("#ticket-rating")).to_have_text("5 / 5")
