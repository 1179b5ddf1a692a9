"""The Socket.IO server and the events the service layer publishes through it.

Rooms name what they hold: `conversation:<id>` (the customer's sockets in /chat and the owning agent's
sockets in /agent), `agents` (every online agent) and `agent:<id>` (one agent's tabs). With REDIS_URL set,
emits go through Redis so every handoff process reaches its own clients.
"""
from __future__ import annotations

import sys

from flask_socketio import SocketIO

socketio = SocketIO()


def cooperative() -> bool:
    """Whether this process runs on gevent's loop: gunicorn's gevent worker patched the standard library,
    so every socket is a greenlet and a blocking call in one stops them all."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")


def async_mode() -> str:
    """python-socketio's mode for this process: gevent under the cooperative worker, threads otherwise
    (tests, the CLI, a plain `flask run`)."""
    return "gevent" if cooperative() else "threading"


def off_the_loop(fn, *args):
    """Run CPU-bound work (the sentence encoder; fitting runs in a child process, vectors/child.py) on a
    native thread and wait for it; the loop serves every other socket meanwhile (onnxruntime and numpy
    release the GIL). Without the cooperative worker it is a plain call. Only pure computation goes here:
    no database, no emits, which belong to the loop."""
    if not cooperative():
        return fn(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args)


def after_the_rest(at_most: float) -> None:
    """Wait until the loop has nothing else to do (gevent.idle), or at most `at_most` seconds, under the
    cooperative worker; a no-op otherwise. For work that may wait, done in bulk: each piece then runs
    after the events and requests that were waiting, not before them. The bound keeps a loop that is
    never idle (thousands of sockets pinging) from holding the piece past its client's timeout."""
    if cooperative() and at_most > 0:
        import gevent

        with gevent.Timeout(at_most, False):
            gevent.idle()


def bind(server: SocketIO) -> None:
    """Publish through this app's Socket.IO server (each create_app makes its own)."""
    global socketio
    socketio = server


def start_background_task(fn, *args) -> None:
    socketio.start_background_task(fn, *args)


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


def publish_message(message: dict) -> None:
    room = conversation_room(message["conversation_id"])
    if not message.get("internal"):  # staff-only notes never reach the customer's sockets
        socketio.emit("message", message, to=room, namespace="/chat")
    socketio.emit("message", message, to=room, namespace="/agent")


def publish_status(conversation_id: int, status: str, agent_name: str | None, queue: dict | None = None,
                   closed: dict | None = None) -> None:
    """The chat's owner; while it is queued, also the customer's place: {"position", "estimated_wait_s"};
    when a handoff found the desk closed, when a person is back: {"back_at": ISO or None, "words"}."""
    payload = {
        "conversation_id": conversation_id,
        "status": status,
        "agent": {"name": agent_name} if agent_name else None,
    }
    if status == "queued" and queue is not None:
        payload["queue"] = {"position": queue["position"], "estimated_wait_s": queue["estimated_wait_s"]}
    if closed is not None:
        payload["closed"] = closed
    room = conversation_room(conversation_id)
    socketio.emit("conversation_status", payload, to=room, namespace="/chat")
    socketio.emit("conversation_status", payload, to=room, namespace="/agent")


def publish_customer_presence(conversation_id: int, left_at: str | None) -> None:
    """To the agent's tabs only: the customer left the chat at `left_at`, or (None) came back."""
    payload = {"conversation_id": conversation_id, "left_at": left_at}
    socketio.emit("customer_presence", payload, to=conversation_room(conversation_id), namespace="/agent")


def publish_place(conversation_id: int, queue: dict) -> None:
    """A waiting customer's place in line, to their widget only (consoles read places off the queue)."""
    payload = {"conversation_id": conversation_id, "status": "queued", "agent": None,
               "queue": {"position": queue["position"], "estimated_wait_s": queue["estimated_wait_s"]}}
    socketio.emit("conversation_status", payload, to=conversation_room(conversation_id), namespace="/chat")


def publish_queue(event: dict) -> None:
    """{"conversations": the head of the queue, "total": how many wait}, to every console."""
    socketio.emit("queue", event, to="agents", namespace="/agent")


def publish_chat_assigned(agent_id: int, payload: dict) -> None:
    """A chat offered to this agent: {"conversation", "accept_within_s"}; it lapses to the next agent after."""
    socketio.emit("chat_assigned", payload, to=agent_room(agent_id), namespace="/agent")


def publish_offer_withdrawn(agent_id: int, conversation_id: int, reason: str) -> None:
    payload = {"conversation_id": conversation_id, "reason": reason}
    socketio.emit("offer_withdrawn", payload, to=agent_room(agent_id), namespace="/agent")


def publish_presence(agent_id: int, status: str, notice: str | None) -> None:
    """The agent's own presence as routing sees it, to all their tabs (a missed chat sets them away)."""
    socketio.emit("presence", {"status": status, "notice": notice}, to=agent_room(agent_id), namespace="/agent")


def publish_conversation_to_agent(agent_id: int, conversation: dict) -> None:
    socketio.emit("conversation", conversation, to=agent_room(agent_id), namespace="/agent")


def publish_sla_alert(agent_id: int, payload: dict) -> None:
    """A timer of this agent's ticket or chat nears or passed its due time: {"ticket" | "conversation",
    "timer", "label", "level": "warning" | "breached", "due"}."""
    socketio.emit("sla_alert", payload, to=agent_room(agent_id), namespace="/agent")


def publish_rating(agent_id: int, conversation_id: int, score: int, comment: str | None) -> None:
    payload = {"conversation_id": conversation_id, "rating": {"score": score, "comment": comment}}
    socketio.emit("rating", payload, to=agent_room(agent_id), namespace="/agent")


def publish_typing(conversation_id: int, sender: str, typing: bool) -> None:
    payload = {"conversation_id": conversation_id, "sender": sender, "typing": bool(typing)}
    namespace = "/agent" if sender == "customer" else "/chat"
    socketio.emit("typing", payload, to=conversation_room(conversation_id), namespace=namespace)


def close_chat_room(conversation_id: int) -> None:
    """Every /chat socket leaves the conversation's room, in every process."""
    socketio.close_room(conversation_room(conversation_id), namespace="/chat")


def disconnect(sid: str, namespace: str) -> None:
    """Close one client's socket, whichever process holds it (the message queue carries the request)."""
    socketio.server.disconnect(sid, namespace=namespace)
