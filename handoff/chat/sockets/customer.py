"""Namespace /chat: the customer's widget."""
from __future__ import annotations

import logging
import re
import threading
import time

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room

from handoff.chat import conversations, customer_presence
from handoff.chat.sockets import acknowledged, foreign_origin
from handoff.errors import ServiceError, clean_client_id, clean_email, clean_text, require_dict
from handoff.realtime import after_the_rest, conversation_room, publish_typing, start_background_task

log = logging.getLogger("careregistry.sockets.chat")
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
BUSY = ("Our chat is busy right now, so a person may not reach you here soon. Leave us a message as a "
        "ticket and we will answer by email.")
# Widgets opening their chat together (a burst after a newsletter, the service's restart) take turns for
# the database part, one at a time and each only once the loop has nothing else waiting: an agent's
# event or /healthz that arrives meanwhile is served before the next connect, not after the burst.
# (A burst of 500 on 2 cores: /healthz p50 12 ms instead of 55-99, agents 10-15 ms instead of ~100;
# the burst itself takes as long.) A connect waits for a quiet loop at most CONNECT_WAIT seconds, its
# turn included, well inside a client's connect timeout (15-20 s).
CONNECTING_AT_ONCE = 1
CONNECT_WAIT = 3.0
TOO_FAST = "You are sending messages too fast; this one was not sent. Please wait {wait} and send it again."


class ChatNamespace(Namespace):
    def __init__(self, namespace, relay):
        super().__init__(namespace)
        self.relay = relay
        self.conversation_of: dict[str, int] = {}  # sid -> conversation id
        self.owner_of: dict[str, tuple[int, int | None]] = {}  # sid -> (customer, session version)
        self._connecting = threading.BoundedSemaphore(CONNECTING_AT_ONCE)
        self._arriving = 0  # connects past the limit check, not yet in conversation_of

    def on_connect(self, auth=None):
        # A page of another site (ALLOWED_ORIGINS) embeds the widget for anonymous visitors only: the
        # customer's session cookie may ride along (same site, other origin) but must not open their chat.
        signed_in = current_user.is_authenticated and not foreign_origin()
        customer_id = getattr(current_user, "customer_id", None) if signed_in else None
        visitor_id = auth.get("visitor_id") if isinstance(auth, dict) else None
        if self.full(current_app.config["MAX_CHAT_SOCKETS"]):
            # Refused before any work, so the sockets already open do not slow down.
            log.info("chat connect refused sid=%s reason=full open=%d", request.sid, len(self.conversation_of))
            raise ConnectionRefusedError(BUSY, {"reason": "busy"})
        if not current_app.extensions["rates"].hit("chat_connect", request.remote_addr):
            log.info("chat connect refused sid=%s reason=rate", request.sid)
            return False
        if customer_id is None and not (isinstance(visitor_id, str) and VISITOR_ID.match(visitor_id)):
            log.info("chat connect refused sid=%s reason=no-identity", request.sid)
            return False
        # Counted from here, so the connects waiting their turn cannot take the process past its limit.
        self._arriving += 1
        try:
            deadline = time.monotonic() + CONNECT_WAIT
            with self._connecting:
                after_the_rest(deadline - time.monotonic())
                history = conversations.join(None if customer_id is not None else visitor_id, customer_id,
                                             auth.get("page") if isinstance(auth, dict) else None,
                                             request.headers.get("User-Agent"))
        finally:
            self._arriving -= 1
        cid, owner_id = history["conversation_id"], history.pop("customer_id")
        # A visitor's chat can join an account later, and a log-in session can end: posts check both.
        owner = (customer_id, current_user.session_version) if customer_id is not None else (owner_id, None)
        self.conversation_of[request.sid] = cid
        self.owner_of[request.sid] = owner
        join_room(conversation_room(cid))
        emit("history", history)
        log.info("chat connect sid=%s conversation=%s", request.sid, cid)
        return True

    @property
    def open_sockets(self) -> int:
        return len(self.conversation_of)

    def full(self, limit: int) -> bool:
        """No room for one more customer's socket; the connects already past the check count as in."""
        return len(self.conversation_of) + self._arriving >= limit

    def on_disconnect(self, reason=None):
        cid = self.conversation_of.pop(request.sid, None)
        self.owner_of.pop(request.sid, None)
        if cid is not None:
            log.info("chat disconnect sid=%s conversation=%s reason=%s", request.sid, cid, reason)
            customer_presence.disconnected(cid)

    def _cid(self, sid: str) -> int:
        cid = self.conversation_of.get(sid)
        if cid is None:
            raise ServiceError("You are not connected to a conversation; please reload the page.")
        return cid

    @property
    def bare_handlers(self) -> dict:
        """Events sent all the time, served without a request context (see sockets.bare_events)."""
        return {"customer_message": self.customer_message, "typing": self.typing}

    @acknowledged
    def customer_message(self, sid: str, data=None):
        data = require_dict(data)
        text = clean_text(data.get("text"), current_app.config["MAX_MESSAGE_CHARS"])
        client_msg_id = clean_client_id(data.get("client_msg_id"))
        cid = self._cid(sid)
        rates = current_app.extensions["rates"]
        rates.require("chat_connection", sid, message=TOO_FAST)
        rates.require("chat_visitor", cid, message=TOO_FAST)

        def ask_the_bot(_message: dict, status: str) -> None:
            if status == "bot":
                start_background_task(self.relay.relay, cid, text, True)

        message, _created, _status = conversations.post_customer_message(cid, text, client_msg_id,
                                                                         self.owner_of.get(sid), ask_the_bot)
        return {"id": message["id"]}

    @acknowledged
    def on_rate(self, data=None):
        """The customer's 1-5 rating (and comment) of the chat an agent resolved."""
        data = require_dict(data)
        cid = self._cid(request.sid)
        owner = self.owner_of.get(request.sid)
        if owner is not None and conversations.customer_of(cid) != owner[0]:
            raise ServiceError("This conversation has moved to an account; please reload the page.")
        return {"rating": conversations.rate(cid, data.get("score"), data.get("comment"))}

    @acknowledged
    def on_email_transcript(self, data=None):
        """The customer's copy of the chat, to the address they give (limited per address, like the forms)."""
        data = require_dict(data)
        cid = self._cid(request.sid)
        email = clean_email(data.get("email"))
        current_app.extensions["rates"].require(
            "recipient", email.lower(), message="We have emailed this address several times lately. Please wait {wait}.")
        email = conversations.email_transcript(cid, email, current_app.config["COMPANY_NAME"])
        return {"email": email}

    def typing(self, sid: str, data=None):
        if isinstance(data, dict) and sid in self.conversation_of:
            publish_typing(self.conversation_of[sid], "customer", bool(data.get("typing")))
