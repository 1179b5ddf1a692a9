"""Stand-ins for the bot in service unit tests: a real HTTP server on loopback that answers like Rasa's
REST channel and the action server's /health. The end-to-end tests use the real Rasa instead."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeRasa:
    def __init__(self, token: str | None = None):
        self.token = token  # like bot/channel.py: with a token, a message without it is refused
        self.mode = "echo"  # echo | down | slow | empty | buttons
        self.delay = 0.0
        self.received: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if owner.mode == "down":
                    return self._json(503, {"error": "down"})
                # As `rasa run` without --enable-api: its root page only (/version, /status... are the API's);
                # /health is the action server's, which tests point at this fake too.
                if self.path not in ("/", "/health"):
                    return self._json(404, {"error": "not found"})
                self._json(200, {"hello": "Hello from Rasa: 3.6.21"})

            def do_POST(self):
                if owner.token and self.headers.get("Authorization") != f"Bearer {owner.token}":
                    return self._json(401, {"error": "This channel answers only the handoff service."})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                owner.received.append(body)
                if owner.mode == "down":
                    return self._json(500, {"error": "down"})
                if owner.mode == "slow":
                    time.sleep(owner.delay)
                if owner.mode == "empty":
                    return self._json(200, [])
                reply = {"recipient_id": body.get("sender"), "text": f"bot heard: {body.get('message')}"}
                if owner.mode == "buttons":
                    reply["buttons"] = [{"title": "Refunds", "payload": '/choose_faq{"faq_id":"1"}'}]
                self._json(200, [reply])

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the service hung up on a slow answer: that is the behaviour under test

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages_from(self, sender) -> list[str]:
        return [r.get("message") for r in self.received if r.get("sender") == str(sender)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def at_once(calls) -> list:
    """Run the calls in threads released together (a race, as between two agents), and return their results."""
    calls = list(calls)
    results, start = [None] * len(calls), threading.Barrier(len(calls))

    def run(i):
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll until predicate() is truthy; returns its value or None after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        from email import message_from_bytes, policy

        from aiosmtpd.controller import Controller

        self.messages: list = []
        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                owner.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    def text(self, message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def stop(self):
        self.controller.stop()
