"""Namespace /agent: the agents' console, authenticated by the log-in session."""
from __future__ import annotations

import logging
import time
from collections import defaultdict

from flask import current_app, request
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from handoff.chat import agent_sockets, assignment, conversations
from handoff.chat.sockets import acknowledged, foreign_origin
from handoff.errors import Forbidden, ServiceError, clean_client_id, clean_int, clean_text, require_dict
from handoff.realtime import agent_room, conversation_room, publish_typing
from handoff.routing import presence

log = logging.getLogger("careregistry.sockets.agent")
TOO_FAST = "You are sending messages too fast; this one was not sent. Please wait {wait} and send it again."


class AgentNamespace(Namespace):
    def __init__(self, namespace):
        super().__init__(namespace)
        self.agent_of: dict[str, int] = {}  # sid -> agent id
        self.session_of: dict[str, int] = {}  # sid -> the agent's session version when it connected
        self.checked_at: dict[str, float] = {}  # sid -> when may_act last said yes (time.monotonic)
        self.sids_of: defaultdict[int, set[str]] = defaultdict(set)

    def on_connect(self, auth=None):
        agent_id = getattr(current_user, "agent_id", None) if current_user.is_authenticated else None
        if agent_id is None or foreign_origin():  # the console is only ever served by this service
            log.info("agent connect refused sid=%s", request.sid)
            return False
        agent_sockets.opened(request.sid, agent_id)
        if not agent_sockets.may_act(agent_id, current_user.session_version):  # deactivated meanwhile
            agent_sockets.closed(request.sid)
            return False
        self.checked_at[request.sid] = time.monotonic()
        self.agent_of[request.sid] = agent_id
        self.session_of[request.sid] = current_user.session_version
        self.sids_of[agent_id].add(request.sid)
        presence.connected(agent_id)
        join_room("agents")
        join_room(agent_room(agent_id))
        emit("presence", {"status": presence.status_of(agent_id), "notice": None})
        emit("queue", conversations.queue_event())
        for conversation in conversations.agent_open_conversations(agent_id):
            join_room(conversation_room(conversation["id"]))
            emit("conversation", conversation)
        for offer in conversations.offers_to(agent_id):  # a reload keeps what was offered
            emit("chat_assigned", offer)
        log.info("agent connect sid=%s agent=%s", request.sid, agent_id)
        current_app.extensions["socketio"].start_background_task(assignment.dispatch)  # a place opened up
        return True

    def on_disconnect(self, reason=None):
        agent_id = self.agent_of.pop(request.sid, None)
        self.session_of.pop(request.sid, None)
        self.checked_at.pop(request.sid, None)
        if agent_id is not None:
            log.info("agent disconnect sid=%s agent=%s reason=%s", request.sid, agent_id, reason)
            agent_sockets.closed(request.sid)
            self.sids_of[agent_id].discard(request.sid)
            presence.disconnected(agent_id)
            assignment.agent_left(agent_id)

    def _agent(self, sid: str | None = None) -> int:
        sid = sid or request.sid
        agent_id = self.agent_of.get(sid)
        if agent_id is None:
            raise Forbidden("Please log in again.")
        if agent_sockets.must_recheck(agent_id, self.checked_at.get(sid, 0.0)):
            # Claimed before asking, so the socket's other events meanwhile do not all ask at once.
            self.checked_at[sid] = time.monotonic()
            if not agent_sockets.may_act(agent_id, self.session_of[sid]):
                self.checked_at[sid] = 0.0
                raise Forbidden("Please log in again.")
        return agent_id

    @staticmethod
    def _conversation_id(data) -> int:
        return clean_int(require_dict(data).get("conversation_id"), "conversation_id")

    @acknowledged
    def on_accept(self, data=None):
        """Take the chat offered to this agent (auto), or any queued chat (broadcast, or with room)."""
        agent_id, cid = self._agent(), self._conversation_id(data)
        conversation = conversations.accept(agent_id, cid)
        server = current_app.extensions["socketio"].server
        for sid in self.sids_of[agent_id]:  # every tab of this agent follows the chat
            server.enter_room(sid, conversation_room(cid), namespace=self.namespace)
        emit("conversation", conversation, to=agent_room(agent_id), skip_sid=request.sid)
        return {"conversation": conversation}

    @property
    def bare_handlers(self) -> dict:
        """Events sent all the time, served without a request context (see sockets.bare_events)."""
        return {"agent_message": self.agent_message, "typing": self.typing, "heartbeat": self.heartbeat}

    def heartbeat(self, sid: str, data=None):
        """The console is still open (every 20 s): without it for PRESENCE_TIMEOUT the agent is offline."""
        agent_id = self.agent_of.get(sid)
        if agent_id is not None:
            presence.heartbeat(agent_id)

    @acknowledged
    def on_set_presence(self, data=None):
        """The agent chooses online, away or offline."""
        status = assignment.set_presence(self._agent(), require_dict(data).get("status"))
        return {"status": status}

    @acknowledged
    def on_transfer(self, data=None):
        """Pass the chat to an agent or a team, with a note only staff see."""
        agent_id, cid = self._agent(), self._conversation_id(data)
        result = conversations.transfer(agent_id, cid, to_agent=data.get("agent_id"), to_team=data.get("team_id"),
                                        note=data.get("note"), admin=current_user.is_admin)
        server = current_app.extensions["socketio"].server
        for sid in self.sids_of[agent_id]:  # the chat leaves this agent's tabs
            server.leave_room(sid, conversation_room(cid), namespace=self.namespace)
        for sid in self.sids_of.get(result.get("agent_id"), ()):  # and joins the new owner's, here
            server.enter_room(sid, conversation_room(cid), namespace=self.namespace)
        return result

    @acknowledged
    def on_follow(self, data=None):
        """A tab follows a chat that became this agent's elsewhere (a transfer made in another process)."""
        agent_id, cid = self._agent(), self._conversation_id(data)
        if conversations.assigned_agent(cid) != agent_id:
            raise Forbidden("This conversation is not assigned to you.")
        join_room(conversation_room(cid))

    @acknowledged
    def on_open(self, data=None):
        """The full transcript of a queued conversation (preview before accepting) or one's own."""
        agent_id, cid = self._agent(), self._conversation_id(data)
        return {"conversation": conversations.conversation_for_agent(agent_id, cid)}

    @acknowledged
    def agent_message(self, sid: str, data=None):
        agent_id, cid = self._agent(sid), self._conversation_id(data)
        text = clean_text(data.get("text"), current_app.config["MAX_MESSAGE_CHARS"])
        rates = current_app.extensions["rates"]
        rates.require("agent_connection", sid, message=TOO_FAST)
        rates.require("agent", agent_id, message=TOO_FAST)
        message = conversations.post_agent_message(agent_id, cid, text, clean_client_id(data.get("client_msg_id")))
        return {"id": message["id"]}

    @acknowledged
    def on_resolve(self, data=None):
        conversations.resolve(self._agent(), self._conversation_id(data))

    @acknowledged
    def on_hand_back(self, data=None):
        conversations.hand_back(self._agent(), self._conversation_id(data))

    def typing(self, sid: str, data=None):
        try:
            agent_id, cid = self._agent(sid), self._conversation_id(data)
        except ServiceError:
            return
        if conversations.assigned_agent(cid) != agent_id:  # only the owner's typing is shown
            return
        publish_typing(cid, "agent", bool(data.get("typing")))

