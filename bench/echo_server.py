"""The relay benchmark's reference: a bare python-socketio server that relays like the handoff service.

It speaks the same events as the service (docs/protocol.md) and fans each message out the same way, to the
conversation's room on /chat and on /agent, but stores nothing and checks nothing. It is served exactly as
the service is (its gunicorn worker, one process; see `handoff.ops.stack.Stack.commands`), so the
difference between the two is the service's own work:

    gunicorn -k handoff.ops.worker.PacedGeventWorker -w 1 --worker-connections 8000 -b 127.0.0.1:5100 bench.echo_server:app

Customers connect to /chat with `auth={"room": <conversation id>}`; agents connect to /agent with
`auth={"rooms": [<conversation id>, ...]}`.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import socketio

from handoff.realtime import async_mode

sio = socketio.Server(async_mode=async_mode(), cors_allowed_origins="*", ping_interval=20,
                      max_http_buffer_size=64 * 1024, logger=False, engineio_logger=False)
app = socketio.WSGIApp(sio)
_ids = itertools.count(1)


def _room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def _publish(conversation_id: int, sender: str, text: str) -> dict:
    message = {"id": next(_ids), "conversation_id": conversation_id, "sender": sender, "text": text,
               "buttons": [], "created_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
    sio.emit("message", message, to=_room(conversation_id), namespace="/chat")
    sio.emit("message", message, to=_room(conversation_id), namespace="/agent")
    return message


class ChatNamespace(socketio.Namespace):
    def __init__(self, namespace):
        super().__init__(namespace)
        self.conversation_of: dict[str, int] = {}

    def on_connect(self, sid, environ, auth=None):
        if not isinstance(auth, dict) or not isinstance(auth.get("room"), int):
            return False
        self.conversation_of[sid] = auth["room"]
        self.enter_room(sid, _room(auth["room"]))
        self.emit("history", {"conversation_id": auth["room"], "status": "agent", "agent": None, "messages": []},
                  to=sid)
        return True

    def on_disconnect(self, sid, reason=None):
        self.conversation_of.pop(sid, None)

    def on_customer_message(self, sid, data):
        message = _publish(self.conversation_of[sid], "customer", data["text"])
        return {"ok": True, "id": message["id"]}


class AgentNamespace(socketio.Namespace):
    def on_connect(self, sid, environ, auth=None):
        rooms = auth.get("rooms") if isinstance(auth, dict) else None
        if not isinstance(rooms, list):
            return False
        for conversation_id in rooms:
            self.enter_room(sid, _room(conversation_id))
        return True

    def on_agent_message(self, sid, data):
        message = _publish(int(data["conversation_id"]), "agent", data["text"])
        return {"ok": True, "id": message["id"]}


sio.register_namespace(ChatNamespace("/chat"))
sio.register_namespace(AgentNamespace("/agent"))
