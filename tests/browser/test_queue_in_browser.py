"""Waiting in line, in Debian's Chromium: a customer watches their place fall as an agent takes the chat
ahead of theirs, and the agent hears and sees each new chat (a chime, and a desktop notification while the
console's tab is in the background)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.clients import empty_queue
from tests.fakes import wait_for

ASK = "I want to talk to a real person"
# Counts what the console does when a chat arrives: the chime's oscillators and the desktop notifications.
# The tab is "in the background" when the test says so: notifications are only for a tab one cannot see.
SPIES = """
window.__chimes = 0;
window.__notifications = [];
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__chimes += 1; return createOscillator.call(this); };
const RealNotification = window.Notification;
window.Notification = new Proxy(RealNotification, {
  construct(target, args) {
    window.__notifications.push(args[0]);
    try { return new target(...args); } catch (err) { return {}; }
  },
  get(target, name) { return Reflect.get(target, name, target); },
});
Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return window.__inBackground === true; } });
"""


def queued(customer) -> bool:
    return bool(customer.statuses) and customer.statuses[-1]["status"] == "queued"


def hand_off(customer) -> int:
    customer.say(ASK)
    assert wait_for(lambda: queued(customer), timeout=30), "the bot did not hand the chat off"
    return customer.conversation_id


def test_a_waiting_customer_sees_their_place_fall_and_the_agent_hears_each_new_chat(browser, stack, customer, agent):
    kim = agent("agentKim")
    empty_queue(kim)
    # Three chats served within the hour give the desk a pace, so the widget can estimate the wait.
    for _ in range(3):
        cid = hand_off(customer())
        assert kim.call("accept", {"conversation_id": cid})["ok"] and kim.call("resolve", {"conversation_id": cid})["ok"]

    console_context = browser.new_context(permissions=["notifications"])
    console_context.add_init_script(SPIES)
    console = console_context.new_page()
    sam = stack.logins["agentSam"]
    console.goto(f"{stack.url}/login")
    console.fill("#email", sam["email"])
    console.fill("#password", sam["password"])
    console.click("#login-submit")
    expect(console.locator("#connection-status")).to_have_attribute("data-state", "online", timeout=10_000)
    assert console.evaluate("Notification.permission") == "granted"
    console.locator("body").dispatch_event("pointerdown")  # sound is allowed after the agent touched the page
    wait_for(lambda: False, timeout=0.5)
    console.evaluate("window.__chimes = 0; window.__notifications = []; window.__inBackground = true;")

    first = customer()
    first_id = hand_off(first)
    expect(console.locator(f'.queue-item[data-conversation-id="{first_id}"]')).to_be_visible(timeout=10_000)
    assert console.evaluate("window.__chimes") >= 1, "no chime when the chat arrived"
    assert "A customer is waiting" in console.evaluate("window.__notifications")

    shop = browser.new_context().new_page()
    shop.goto(f"{stack.url}/")
    shop.click("#ccr-launcher")
    shop.fill("#ccr-input", ASK)
    shop.click("#ccr-send")
    status = shop.locator("#ccr-status")
    expect(status).to_have_attribute("data-status", "queued", timeout=30_000)
    expect(status).to_have_attribute("data-position", "2", timeout=10_000)
    expect(status).to_have_text(re.compile(r"You're number 2 in line · about (\d+ min|less than a minute)"))
    third_id = hand_off(customer())
    assert wait_for(lambda: console.evaluate("window.__notifications").count("A customer is waiting") >= 2), \
        "no notification for the third chat"

    console.evaluate("window.__inBackground = false")
    console.locator(f'.queue-item[data-conversation-id="{first_id}"] .accept-btn').click()
    expect(status).to_have_attribute("data-position", "1", timeout=10_000)
    expect(status).to_have_text(re.compile(r"You're next in line · about (\d+ min|less than a minute)"))
    assert wait_for(lambda: first.statuses[-1]["status"] == "agent")

    console_context.close()
    shop.context.close()
    empty_queue(kim)  # the second and third chats: later tests start from an empty line
    assert third_id not in kim.queued_ids()
