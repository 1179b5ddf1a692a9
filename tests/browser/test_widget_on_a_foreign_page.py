"""The widget embedded with its one tag on another site's page, under that page's strict Content-Security-Policy
(scripts, styles and connections from the chat server only, nothing inline), in Debian's Chromium."""
from __future__ import annotations

import csv
import re

import pytest
import requests
from playwright.sync_api import expect

from handoff.config import PROJECT_ROOT
from handoff.ops.cli import SEED
from tests.browser.host_pages import serve


def seeded_answer(slug: str) -> str:
    with open(SEED / "faq_answers.csv", newline="") as fh:
        return next(row["answer"] for row in csv.DictReader(fh) if row["answer_id"] == slug)


@pytest.fixture
def shop(stack):
    """A page of another origin (another loopback port) that embeds the widget as a customer's site would."""
    server_origin = stack.url
    policy = (f"default-src 'none'; img-src 'self'; script-src {server_origin}; style-src {server_origin}; "
              f"connect-src {server_origin} {server_origin.replace('http://', 'ws://')}")
    yield from serve(f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                     f'<meta http-equiv="Content-Security-Policy" content="{policy}"><title>Another shop</title>'
                     f'</head><body><h1>Another shop</h1>'
                     f'<script src="{server_origin}/static/widget.js" data-server="{server_origin}" defer></script>'
                     f'</body></html>')


@pytest.fixture
def framer(stack):
    """A page of another origin that puts the service's log-in page in a frame (clickjacking)."""
    yield from serve(f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head>'
                     f'<body><iframe id="victim" src="{stack.url}/login" width="600" height="400"></iframe></body></html>')


def test_stack_serves_this_tree(stack):
    """The browser tests exercise the web/ folder they are run from."""
    for name in ("widget.js", "chat_common.js", "console.js"):
        served = requests.get(f"{stack.url}/static/{name}", timeout=10)
        assert served.status_code == 200
        assert served.text == (PROJECT_ROOT / "web" / "static" / name).read_text()


def test_one_tag_embeds_the_widget_on_another_site(browser, stack, shop):
    page = browser.new_context().new_page()
    problems, requested = [], []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    page.goto(shop)

    expect(page.locator("#ccr-launcher")).to_be_visible(timeout=10_000)
    assert page.evaluate("typeof window.ccrChat.createOutbox") == "function"
    page.click("#ccr-launcher")
    expect(page.locator("#ccr-panel")).to_be_visible()
    expect(page.locator("#ccr-input")).to_be_focused()

    page.fill("#ccr-input", "How long does it take to get my refund?")
    page.keyboard.press("Enter")
    mine = page.locator('.ccr-msg[data-sender="customer"]').last
    expect(mine).to_contain_text("How long does it take to get my refund?")
    expect(mine).to_have_class("ccr-msg", timeout=10_000)  # no longer pending: the server stored it
    expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"))
    answer = seeded_answer("refund-timeline")
    expect(page.locator('.ccr-msg[data-sender="bot"]').last).to_contain_text(answer[:40], timeout=30_000)
    expect(page.locator("#ccr-status")).to_have_attribute("data-status", "bot")

    assert not problems, problems
    others = [url for url in requested if not url.startswith((shop, stack.url, stack.url.replace("http", "ws")))]
    assert not others, others


def test_another_site_cannot_frame_the_services_pages(browser, stack, framer):
    page = browser.new_page()
    try:
        page.goto(framer)
        frame = page.frame_locator("#victim")
        page.wait_for_timeout(2000)  # the frame's load is refused, so there is no event to wait for
        expect(frame.locator("#login-submit")).to_have_count(0)
    finally:
        page.close()
