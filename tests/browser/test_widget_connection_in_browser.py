"""How the widget reaches the service, in Debian's Chromium: over a WebSocket from the start (so a closed
tab is noticed at once), and over long-polling where a network lets no WebSocket through."""
from __future__ import annotations

from playwright.sync_api import expect

# A proxy or firewall that refuses WebSockets: every one fails as it opens.
NO_WEBSOCKETS = """
window.WebSocket = class extends EventTarget {
  constructor() { super(); this.readyState = 3; setTimeout(() => this.onerror && this.onerror(new Event("error")), 0); }
  send() {} close() {}
};
"""


def _say_hello(page, url):
    page.goto(f"{url}/")
    page.click("#ccr-launcher")
    page.fill("#ccr-input", "hello there")
    page.click("#ccr-send")
    expect(page.locator('.ccr-msg[data-sender="customer"]').last).not_to_have_class("ccr-pending", timeout=15_000)


def test_the_widget_chats_over_a_websocket_from_the_start(browser, stack):
    page = browser.new_context().new_page()
    polls, sockets = [], []
    page.on("request", lambda r: "/socket.io/" in r.url and "transport=polling" in r.url and polls.append(r.url))
    page.on("websocket", lambda ws: "/socket.io/" in ws.url and sockets.append(ws.url))
    try:
        _say_hello(page, stack.url)
        assert len(sockets) == 1 and "transport=websocket" in sockets[0]
        assert polls == [], "no long-polling round trips before the WebSocket"
    finally:
        page.context.close()


def test_where_websockets_are_refused_the_widget_chats_over_long_polling(browser, stack):
    context = browser.new_context()
    context.add_init_script(NO_WEBSOCKETS)
    page = context.new_page()
    polls = []
    page.on("request", lambda r: "/socket.io/" in r.url and "transport=polling" in r.url and polls.append(r.url))
    try:
        _say_hello(page, stack.url)
        assert polls, "the chat went over long-polling"
        expect(page.locator("#ccr-connection")).to_be_hidden()
    finally:
        context.close()
