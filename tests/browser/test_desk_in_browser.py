"""The agent's workbench, the admin's pages and the widget on a phone, in Debian's Chromium: the defects of
issue 12 stay fixed (each step names the one it checks).

With CCR_SCREENSHOTS=1 the console, the dashboard and the widget on a phone are saved to docs/screenshots/.
"""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from handoff.config import PROJECT_ROOT
from tests.browser.host_pages import serve

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
NEED = "My parcel never arrived and the tracking page is blank"
# Whether every part of an element is inside what the visitor sees (the visual viewport).
ON_SCREEN = """el => { const r = el.getBoundingClientRect(), v = window.visualViewport;
  return r.width > 0 && r.left >= v.offsetLeft - 1 && r.top >= v.offsetTop - 1
    && r.right <= v.offsetLeft + v.width + 1 && r.bottom <= v.offsetTop + v.height + 1; }"""


def screenshot(page, name: str, tmp_path, **kw) -> None:
    folder = PROJECT_ROOT / "docs" / "screenshots" if os.environ.get("CCR_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), **kw)


def log_in(page, url: str, person: dict) -> None:
    page.goto(f"{url}/login")
    page.fill("#email", person["email"])
    page.fill("#password", person["password"])
    page.click("#login-submit")


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def tap_where_seen(page, locator) -> None:
    """A finger's tap at the middle of the element as the visitor sees it (its place in the visual
    viewport). Playwright's click aims with layout-viewport coordinates and scrolls the page first, so
    on a phone showing part of a page wider than the screen it can miss a widget pinned to the screen."""
    pinned = """() => { const r = document.getElementById("ccr-root").getBoundingClientRect(), v = visualViewport;
        return Math.abs(r.left - v.offsetLeft) < 1 && Math.abs(r.top - v.offsetTop) < 1; }"""
    page.wait_for_function(pinned, timeout=5_000)  # the widget has followed the visitor's last scroll
    x, y = locator.evaluate("""el => { const r = el.getBoundingClientRect(), v = visualViewport;
        return [r.left + r.width / 2 - v.offsetLeft, r.top + r.height / 2 - v.offsetTop]; }""")
    page.touchscreen.tap(x, y)


@pytest.fixture(scope="module")
def admin_page(browser, stack):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    log_in(page, stack.url, stack.logins["admin"])
    yield page
    context.close()


@pytest.fixture
def wide_shop(stack):
    yield from serve(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Wide shop</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        '<div style="width:1400px;height:400px;background:#eee">A host page wider than any phone</div>'
        f'<script src="{stack.url}/static/widget.js" data-server="{stack.url}" data-color="#0a7d55" '
        'data-position="left" data-greeting="Welcome to the wide shop!" defer></script></body></html>')


def test_widget_fits_a_phone_on_a_page_wider_than_the_screen(browser, wide_shop):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(wide_shop)
    launcher = page.locator("#ccr-launcher")
    expect(launcher).to_be_visible()
    assert page_width(page) > 390  # the host page really is wider than the screen
    assert launcher.evaluate(ON_SCREEN)
    # The embedding options: colour, position, greeting.
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(10, 125, 85)"
    assert launcher.evaluate("el => { const r = el.getBoundingClientRect(), v = visualViewport;"
                             " return r.right < v.offsetLeft + v.width / 2; }")
    # The visitor scrolls the page sideways and down: the launcher stays where they look.
    page.mouse.move(200, 300)
    page.mouse.wheel(500, 40)
    page.wait_for_function("visualViewport.offsetLeft > 0 && visualViewport.offsetTop > 0")
    tap_where_seen(page, launcher)
    expect(page.locator("#ccr-greeting")).to_have_text("Welcome to the wide shop!")
    close = page.locator("#ccr-close")
    expect(close).to_be_visible()
    assert close.evaluate(ON_SCREEN), "the panel's close button must be on screen"
    assert page.locator("#ccr-input").evaluate(ON_SCREEN)
    tap_where_seen(page, close)
    expect(page.locator("#ccr-panel")).to_be_hidden()
    context.close()


def test_the_desk_journey_in_the_console_and_the_widget(browser, stack, admin_page, tmp_path):
    # Shared canned replies are managed in /admin.
    admin_page.goto(f"{stack.url}/admin/canned")
    admin_page.fill("#admin-canned-shortcut", "track")
    admin_page.fill("#admin-canned-text", "Hi {customer_name}, {agent_name} here: I am tracking your parcel now.")
    admin_page.click("#admin-canned-save")
    expect(admin_page.locator('#canned-table tr[data-shortcut="track"]')).to_be_visible()

    sam = stack.logins["agentSam"]
    agent = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    log_in(agent, stack.url, sam)
    expect(agent).to_have_url(f"{stack.url}/console")
    expect(agent.locator("#connection-status")).to_have_attribute("data-state", "online", timeout=10_000)
    agent.evaluate("window.__sameConsole = true")  # gone if the page reloads

    customer = browser.new_context(**PHONE).new_page()
    customer.goto(f"{stack.url}/")
    customer.click("#ccr-launcher")
    widget_input = customer.locator("#ccr-input")
    assert widget_input.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") >= 16  # no iOS zoom
    assert customer.locator("#ccr-close").evaluate(ON_SCREEN)
    widget_input.fill("Hi there!")
    widget_input.press("Enter")
    chip = customer.locator(".ccr-button:not([disabled])", has_text="Talk to a person")
    expect(chip).to_be_visible(timeout=30_000)

    # Keyboard only: from the input back through the suggestions to "Talk to a person", choose it; focus
    # stays in the widget.
    widget_input.focus()
    for _ in range(4):
        customer.keyboard.press("Shift+Tab")
        if customer.evaluate("document.activeElement.textContent") == "Talk to a person":
            break
    assert customer.evaluate("document.activeElement.textContent") == "Talk to a person"
    customer.keyboard.press("Enter")
    assert customer.evaluate("document.activeElement.id") == "ccr-input"
    expect(customer.locator("#ccr-status")).to_have_attribute("data-status", "queued", timeout=30_000)
    widget_input.fill(NEED)
    widget_input.press("Enter")

    # The queue card says what the customer needs, and the chat can be read before accepting.
    card = agent.locator(".queue-item").first
    expect(card.locator(".need")).to_contain_text(NEED, timeout=15_000)
    expect(agent).to_have_title(re.compile(r"^\(1\) "))  # the tab's badge counts who is waiting
    card.locator(".preview-btn").click()
    expect(agent.locator("#preview-transcript")).to_contain_text(NEED)
    agent.click("#preview-accept")
    expect(agent.locator("#chat")).to_be_visible()
    expect(customer.locator("#ccr-status")).to_contain_text("Sam Agent", timeout=10_000)
    # Beside the chat: the page the customer is on and their browser.
    expect(agent.locator("#customer-info-body")).to_contain_text(f"{stack.url}/", timeout=10_000)
    expect(agent.locator("#customer-info-body")).to_contain_text("Chrome")

    # The typing indicator is a live region, naming the agent.
    typing = customer.locator("#ccr-typing")
    assert typing.get_attribute("aria-live") == "polite"
    agent.fill("#composer", "Hello")
    expect(typing).to_have_text("Sam Agent is typing…", timeout=10_000)
    agent.fill("#composer", "")

    # A canned reply by its shortcut, variables filled in; the customer sees Sam's name and initials.
    agent.locator("#composer").press_sequentially("/tra")
    expect(agent.locator("#canned-list .canned-item")).to_have_count(1)
    agent.locator("#composer").press("Enter")
    expect(agent.locator("#composer")).to_have_value(re.compile(r"^Hi .+, Sam Agent here: I am tracking"))
    agent.locator("#composer").press("Enter")
    reply = customer.locator('.ccr-msg[data-sender="agent"]').last
    expect(reply).to_contain_text("I am tracking your parcel now", timeout=10_000)
    expect(reply.locator(".ccr-author-name")).to_have_text("Sam Agent")
    expect(reply.locator(".ccr-avatar")).to_have_text("SA")
    expect(agent.locator('#transcript .msg[data-sender="agent"] .msg-who').last).to_have_text("Sam Agent")

    # A ticket from the chat: the customer's need as subject, their own lines, a category, no reload.
    agent.click("#open-ticket summary")
    expect(agent.locator("#open-ticket-subject")).to_have_value(NEED, timeout=10_000)
    description = agent.locator("#open-ticket-description").input_value()
    assert "/human_handoff" not in description and "Hi there!" not in description and NEED in description
    assert agent.locator("#open-ticket-category").input_value() == "orders"
    agent.click("#open-ticket-submit")
    done = agent.locator("#chat-done")
    expect(done).to_contain_text("Ticket #", timeout=10_000)
    number = re.search(r"#(\d+)", done.inner_text()).group(1)
    assert agent.evaluate("window.__sameConsole") is True
    expect(agent.locator("#customer-tickets")).to_contain_text(f"#{number}", timeout=10_000)
    expect(agent.locator("#connection-status")).to_have_attribute("data-state", "online")
    expect(customer.locator('.ccr-msg[data-sender="system"]').last).to_contain_text(f"ticket #{number}",
                                                                                  timeout=10_000)
    # Asking again warns about the ticket just opened.
    agent.click("#open-ticket summary")
    expect(agent.locator("#open-ticket-recent")).to_contain_text(f"#{number}", timeout=10_000)
    agent.click("#open-ticket summary")
    screenshot(agent, "console.png", tmp_path)

    # Resolve: the customer rates the chat in the widget, and the agent sees it.
    agent.click("#resolve-btn")
    expect(customer.locator("#ccr-rating")).to_be_visible(timeout=10_000)
    customer.get_by_role("button", name="4 out of 5").click()
    customer.fill("#ccr-rating-comment", "Quick and kind")
    customer.click("#ccr-rating-send")
    expect(customer.locator("#ccr-rating")).to_contain_text("You rated this chat 4 out of 5")
    expect(agent.locator("#chat-rating")).to_contain_text("4 out of 5", timeout=10_000)
    screenshot(customer, "widget-phone.png", tmp_path)

    # The console's shortcuts are listed on "?" (outside a text field).
    agent.evaluate("document.activeElement.blur()")
    agent.keyboard.press("?")
    expect(agent.locator("#shortcuts")).to_be_visible()
    agent.keyboard.press("Escape")
    expect(agent.locator("#shortcuts")).to_be_hidden()


def test_admin_pages_fit_and_show_local_times(browser, stack, admin_page, tmp_path):
    admin = stack.logins["admin"]
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    log_in(page, stack.url, admin)
    expect(page).to_have_url(f"{stack.url}/admin/")  # not the console: the admin does not go online
    row = page.locator("#agents-table tr", has_text=admin["email"])
    expect(row).to_contain_text("Offline")

    admin_page.goto(f"{stack.url}/admin/tickets")
    assert page_width(admin_page) <= 1366
    heights = admin_page.locator(".ticket-subject").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and max(heights) < 80, "subjects wrap between words, not a word per line"
    first_time = admin_page.locator("#ticket-table time, table time").first
    assert first_time.get_attribute("title") == "Asia/Tokyo time"

    admin_page.goto(f"{stack.url}/admin/reports")
    admin_page.wait_for_function("window.ccrCharts && Object.keys(window.ccrCharts).length === 5")
    for canvas in admin_page.locator("canvas").all():
        summary = admin_page.locator(f"#{canvas.get_attribute('aria-labelledby')}")
        assert summary.inner_text().strip()  # every chart is described in words
    expect(admin_page.locator("#heatmap-zone")).to_have_text("Asia/Tokyo")
    screenshot(admin_page, "dashboard.png", tmp_path, full_page=True)

    phone = browser.new_context(**PHONE).new_page()
    log_in(phone, stack.url, admin)
    for path in ("/admin/reports", "/console/tickets", "/admin/tickets"):
        phone.goto(f"{stack.url}{path}")
        assert page_width(phone) <= 390, f"{path} is wider than a phone"
