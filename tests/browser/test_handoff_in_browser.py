"""A customer in the widget and an agent in the console complete a handoff, in Debian's Chromium."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.clients import empty_queue


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


def test_the_agent_sees_the_customer_leave_and_come_back_and_closes_the_chat(browser, stack, agent):
    empty_queue(agent("agentKim"))  # the one chat waiting is this customer's
    sam = stack.logins["agentSam"]
    agent_page = browser.new_context().new_page()
    agent_page.goto(f"{stack.url}/login")
    agent_page.fill("#email", sam["email"])
    agent_page.fill("#password", sam["password"])
    agent_page.click("#login-submit")
    expect(agent_page.locator("#connection-status")).to_have_attribute("data-state", "online", timeout=10_000)

    shop = browser.new_context()
    customer = shop.new_page()
    customer.goto(f"{stack.url}/")
    customer.click("#ccr-launcher")
    customer.fill("#ccr-input", "I want to talk to a real person")
    customer.click("#ccr-send")
    expect(customer.locator("#ccr-status")).to_have_attribute("data-status", "queued", timeout=30_000)
    agent_page.locator(".queue-item .accept-btn").click()
    expect(customer.locator("#ccr-status")).to_contain_text("Sam Agent", timeout=10_000)
    notice = agent_page.locator("#customer-left")
    expect(notice).to_be_hidden()

    customer.close()  # the only tab: after CUSTOMER_GONE_AFTER (2 s here) the agent is told
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text(re.compile(r"The customer left at \d{1,2}:\d{2}"))
    expect(agent_page.locator("#customer-left-close")).to_be_visible()

    again = shop.new_page()  # the same browser comes back to the shop: the same chat, reconnected
    again.goto(f"{stack.url}/")
    again.click("#ccr-launcher")
    expect(notice).to_contain_text("The customer is back.", timeout=10_000)
    expect(agent_page.locator("#customer-left-close")).to_be_hidden()

    again.close()
    expect(agent_page.locator("#customer-left-close")).to_be_visible(timeout=10_000)
    agent_page.click("#customer-left-close")
    expect(agent_page.locator("#chat-note")).to_contain_text("resolved", timeout=10_000)
    expect(notice).to_be_hidden()
    shop.close()
