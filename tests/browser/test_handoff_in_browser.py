"""A customer in the widget and an agent in the console complete a handoff, in Debian's Chromium."""
from __future__ import annotations

from playwright.sync_api import expect


def test_customer_and_agent_complete_a_handoff(browser, stack):
    sam = stack.logins["agentSam"]
    agent_page = browser.new_context().new_page()
    agent_page.goto(f"{stack.url}/login")
    agent_page.fill("#email", sam["email"])
    agent_page.fill("#password", sam["password"])
    agent_page.click("#login-submit")
    expect(agent_page).to_have_url(f"{stack.url}/console")
    expect(agent_page.locator("#connection-status")).to_have_attribute("data-state", "online", timeout=10_000)

    customer = browser.new_context().new_page()
    customer.goto(f"{stack.url}/")
    customer.click("#ccr-launcher")
    expect(customer.locator("#ccr-panel")).to_be_visible()
    customer.fill("#ccr-input", "I want to talk to a real person")
    customer.click("#ccr-send")
    expect(customer.locator("#ccr-status")).to_have_attribute("data-status", "queued", timeout=30_000)

    item = agent_page.locator(".queue-item").first
    expect(item).to_be_visible(timeout=10_000)
    item.locator(".accept-btn").click()
    expect(customer.locator("#ccr-status")).to_contain_text("Sam Agent", timeout=10_000)

    customer.fill("#ccr-input", "<b>My parcel</b> never arrived")
    expect(agent_page.locator("#customer-typing")).to_be_visible(timeout=10_000)
    customer.click("#ccr-send")
    expect(agent_page.locator('#transcript .msg[data-sender="customer"]').last).to_contain_text(
        "<b>My parcel</b> never arrived", timeout=10_000)
    expect(agent_page.locator("#customer-typing")).to_be_hidden()

    agent_page.fill("#composer", "Sorry to hear that, I'll check it now.")
    expect(customer.locator("#ccr-typing")).to_be_visible(timeout=10_000)
    agent_page.keyboard.press("Enter")
    expect(customer.locator('.ccr-msg[data-sender="agent"]').last).to_contain_text("I'll check it now",
                                                                                   timeout=10_000)
    expect(customer.locator("#ccr-typing")).to_be_hidden()
    expect(agent_page.locator('#transcript .msg[data-sender="agent"]').last).to_have_class(
        "msg", timeout=10_000)  # no longer pending: acknowledged by the server
    agent_page.click("#resolve-btn")
    expect(customer.locator("#ccr-status")).to_have_attribute("data-status", "resolved", timeout=10_000)
