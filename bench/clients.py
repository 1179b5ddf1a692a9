"""Real python-socketio clients, as the widget and the agents' console use the service (see docs/protocol.md).

The same classes drive the bare echo server, which speaks the same events, so both sides of a comparison
pay the same client costs.
"""
from __future__ import annotations

import logging
import re
import secrets
import threading
import time

import requests
import socketio

# python-engineio's client logs "packet queue is empty, aborting" as an error on every ordinary close:
# thousands of lines at the end of a run, none of them a finding.
logging.getLogger("engineio.client").setLevel(logging.CRITICAL)

CONNECT_TIMEOUT = 15
HEARTBEAT_SECONDS = 20
CALL_TIMEOUT = 30


class Customer:
    """A widget on /chat. `on_message(customer, message, arrived)` sees every `message` event."""

    def __init__(self, url: str, on_message=None, auth: dict | None = None):
        self.url = url
        self.auth = auth or {"visitor_id": "bench-" + secrets.token_urlsafe(12)}
        self.conversation_id: int | None = None
        self.refusal: dict | None = None  # the connect_error's data when the service refuses the socket
        self.refused_at: float | None = None  # when it came (perf_counter): what a widget shows at once
        self._history = threading.Event()
        self._on_message = on_message
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("history", self._history_event, namespace="/chat")
        self.sio.on("message", self._message_event, namespace="/chat")
        self.sio.on("connect_error", self._refused, namespace="/chat")

    def _refused(self, data=None):
        self.refused_at = time.perf_counter()
        self.refusal = (data or {}).get("data") if isinstance(data, dict) else None

    def _history_event(self, data):
        self.conversation_id = data["conversation_id"]
        self._history.set()

    def _message_event(self, data):
        arrived = time.perf_counter()
        if self._on_message is not None:
            self._on_message(self, data, arrived)

    def connect(self) -> "Customer":
        self.sio.connect(self.url, namespaces=["/chat"], auth=self.auth, transports=["websocket"],
                         wait_timeout=CONNECT_TIMEOUT)
        if not self._history.wait(CONNECT_TIMEOUT):
            raise RuntimeError("no history event after connecting to /chat")
        return self

    def send(self, text: str, client_msg_id: str, callback=None) -> None:
        self.sio.emit("customer_message", {"text": text, "client_msg_id": client_msg_id}, namespace="/chat",
                      callback=callback)

    def call(self, text: str, client_msg_id: str, timeout: float = CALL_TIMEOUT) -> dict:
        return self.sio.call("customer_message", {"text": text, "client_msg_id": client_msg_id},
                             namespace="/chat", timeout=timeout)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def login_session(url: str, email: str, password: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{url}/login", timeout=30).text
    token = (re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
             or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page))
    resp = http.post(f"{url}/login", data={"email": email, "password": password,
                                           "csrf_token": token.group(1) if token else ""},
                     allow_redirects=False, timeout=30)
    if resp.status_code != 302:
        raise RuntimeError(f"log-in failed for {email}: HTTP {resp.status_code}")
    return http


class AgentConsole:
    """An agents' console on /agent. Log in first (`login`), or pass `auth` for the echo server."""

    def __init__(self, url: str, on_message=None, headers: dict | None = None, auth: dict | None = None):
        self.url, self.headers, self.auth = url, headers or {}, auth
        self._on_message = on_message
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("message", self._message_event, namespace="/agent")

    @classmethod
    def login(cls, url: str, email: str, password: str, on_message=None) -> "AgentConsole":
        http = login_session(url, email, password)
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        return cls(url, on_message, headers={"Cookie": cookie})

    def _message_event(self, data):
        arrived = time.perf_counter()
        if self._on_message is not None:
            self._on_message(self, data, arrived)

    def connect(self) -> "AgentConsole":
        self.sio.connect(self.url, namespaces=["/agent"], headers=self.headers, auth=self.auth,
                         transports=["websocket"], wait_timeout=CONNECT_TIMEOUT)
        threading.Thread(target=self._heartbeats, daemon=True).start()
        return self

    def _heartbeats(self) -> None:
        """As the console does: an agent whose console stops beating goes offline and loses their chats."""
        while self.sio.connected:
            time.sleep(HEARTBEAT_SECONDS)
            try:
                self.sio.emit("heartbeat", {}, namespace="/agent")
            except Exception:  # noqa: BLE001 - closed meanwhile
                return

    def call(self, event: str, data: dict, timeout: float = CALL_TIMEOUT) -> dict:
        return self.sio.call(event, data, namespace="/agent", timeout=timeout)

    def send(self, conversation_id: int, text: str, client_msg_id: str, callback=None) -> None:
        self.sio.emit("agent_message", {"conversation_id": conversation_id, "text": text,
                                        "client_msg_id": client_msg_id}, namespace="/agent", callback=callback)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()
