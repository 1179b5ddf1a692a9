"""Real Socket.IO clients for a customer and an agent, as the widget and the console use the service."""
from __future__ import annotations

import itertools
import re
import secrets
import threading

import requests
import socketio

from tests.fakes import wait_for

_ids = itertools.count()


class Customer:
    def __init__(self, url: str, visitor_id: str | None = None):
        self.url = url
        self.visitor_id = visitor_id or secrets.token_urlsafe(16)
        self.messages: list[dict] = []
        self.statuses: list[dict] = []
        self.history: list[dict] = []
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("message", self._on_message, namespace="/chat")
        self.sio.on("history", self.history.append, namespace="/chat")
        self.sio.on("conversation_status", self.statuses.append, namespace="/chat")

    def _on_message(self, data):
        with self._lock:
            if all(m["id"] != data["id"] for m in self.messages):
                self.messages.append(data)

    def connect(self) -> "Customer":
        self.sio.connect(self.url, namespaces=["/chat"], auth={"visitor_id": self.visitor_id},
                         transports=["websocket"], wait_timeout=10)
        assert wait_for(lambda: self.history, timeout=10), "no history after connecting"
        return self

    @property
    def conversation_id(self) -> int:
        return self.history[-1]["conversation_id"]

    def say(self, text: str) -> dict:
        ack = self.sio.call("customer_message", {"text": text, "client_msg_id": f"c{next(_ids)}"},
                            namespace="/chat", timeout=10)
        assert ack["ok"], ack
        return ack

    def replies_after(self, message_id: int, senders=("bot", "system")) -> list[dict]:
        return [m for m in self.messages if m["id"] > message_id and m["sender"] in senders]

    def ask(self, text: str, timeout: float = 20, senders=("bot", "system")) -> list[dict]:
        """Send a message and wait for the bot's (or the system's) answer to it."""
        ack = self.say(text)
        replies = wait_for(lambda: self.replies_after(ack["id"], senders), timeout=timeout)
        assert replies, f"no reply to {text!r}"
        wait_for(lambda: False, timeout=0.4)  # let the rest of a multi-part answer arrive
        return self.replies_after(ack["id"], senders)

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def login_session(url: str, email: str, password: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{url}/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    resp = http.post(f"{url}/login", data={"email": email, "password": password,
                                           "csrf_token": token.group(1) if token else ""},
                     allow_redirects=False, timeout=10)
    assert resp.status_code == 302, f"log-in failed for {email}: {resp.status_code}"
    return http


class AgentConsole:
    def __init__(self, url: str, email: str, password: str):
        self.url = url
        self.http = login_session(url, email, password)
        self.queue: list[dict] = []
        self.messages: list[dict] = []
        self.conversations: list[dict] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("queue", self.queue.append, namespace="/agent")
        self.sio.on("message", self.messages.append, namespace="/agent")
        self.sio.on("conversation", self.conversations.append, namespace="/agent")

    def connect(self) -> "AgentConsole":
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        self.sio.connect(self.url, namespaces=["/agent"], headers={"Cookie": cookie},
                         transports=["websocket"], wait_timeout=10)
        return self

    def queued_ids(self) -> list[int]:
        return [c["id"] for c in self.queue[-1]["conversations"]] if self.queue else []

    def call(self, event: str, data: dict) -> dict:
        return self.sio.call(event, data, namespace="/agent", timeout=10)

    def say(self, conversation_id: int, text: str) -> dict:
        return self.call("agent_message", {"conversation_id": conversation_id, "text": text,
                                           "client_msg_id": f"a{next(_ids)}"})

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def empty_queue(console: AgentConsole) -> None:
    """Take and resolve every waiting chat, so a test that counts places in line starts from an empty one
    (earlier tests on the same stack may have left chats waiting)."""
    assert wait_for(lambda: console.queue, timeout=10), "the console socket got no queue"
    for _ in range(20):
        wait_for(lambda: False, timeout=0.5)  # the queue is published at most ~5 times a second
        waiting = console.queued_ids()
        if not waiting:
            return
        for cid in waiting:
            if console.call("accept", {"conversation_id": cid})["ok"]:
                console.call("resolve", {"conversation_id": cid})
    raise AssertionError(f"the queue did not empty: {console.queued_ids()}")
