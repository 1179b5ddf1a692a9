"""Relays a customer's message to Rasa's REST channel and stores what the bot answers.

Rasa is reached with a bounded timeout. When it is down, slow or answers nothing, the customer is told so
and offered a person or a ticket; the two offers work without the bot.

A message is stored and acknowledged before it is relayed, so a process that dies in between leaves a
question nobody answers; the next process to start relays those again (`answer_unanswered`).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import urllib3
from sqlalchemy import func, select, update

from handoff.chat import conversations
from handoff.db import connection_scope
from handoff.knowledge.handoff_request import asks_for_person
from handoff.models import Conversation, Message, utcnow

log = logging.getLogger("careregistry.bot_relay")

HUMAN, TICKET = "/human_handoff", "/open_ticket"
OFFER = [{"title": "Talk to a person", "payload": HUMAN}, {"title": "Open a ticket", "payload": TICKET}]
BOT_DOWN = ("Sorry, our assistant is not available right now. Your message is saved. "
            "Would you like to talk to a person or open a ticket?")


def closed_words(closed: dict) -> str:
    return f"Our team is away right now. {closed['words']}. Leave us a ticket and we'll answer by email."


class BotRelay:
    def __init__(self, rasa_url: str, timeout: float, token: str):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.timeout = timeout
        # urllib3's pool, not requests: every relayed message is one POST to the same address, and
        # requests spends ~1 ms of the loop's CPU a call preparing it and looking up proxy settings.
        # A connection per conversation being answered at once is kept (beyond 64 one is opened, then
        # dropped); retries are off, since Rasa must not hear a message twice.
        self._http = urllib3.connection_from_url(rasa_url, maxsize=64, block=False, retries=False)
        self._path = urllib3.util.parse_url(self.url).path
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        # One reply at a time per conversation, so answers come out in the order questions went in.
        self._locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)

    def relay(self, conversation_id: int, text: str, fresh: bool = False) -> None:
        """Ask Rasa and post its answers. `fresh`: the message was stored just now with the bot owning
        the chat; unless an earlier answer held this one up, that status need not be read again."""
        lock = self._locks[conversation_id]
        waited = not lock.acquire(blocking=False)
        if waited:
            lock.acquire()
        try:
            self._relay(conversation_id, text, check=waited or not fresh)
        finally:
            lock.release()

    def _relay(self, conversation_id: int, text: str, check: bool) -> None:
        if check and conversations.status_of(conversation_id) != "bot":
            return  # a person took over while this message waited
        if asks_for_person(text):
            # Wherever it sits in the message and whatever the bot was doing (offering choices,
            # filling a form), a request for a person is honoured at once.
            self._hand_over_on_request(conversation_id)
            return
        try:
            replies = self._ask(conversation_id, text)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as err:
            log.warning("rasa unavailable conversation=%s error=%s", conversation_id, type(err).__name__)
            self._bot_unavailable(conversation_id, text)
            return
        if not replies:
            log.warning("rasa answered nothing conversation=%s", conversation_id)
            self._bot_unavailable(conversation_id, text)
            return
        for reply in replies:
            body = reply.get("text") or ""
            buttons = [{"title": str(b.get("title", ""))[:200], "payload": str(b.get("payload", ""))[:500]}
                       for b in reply.get("buttons") or [] if isinstance(b, dict)]
            if body or buttons:
                conversations.post_bot_message(conversation_id, body, buttons)

    def _ask(self, conversation_id: int, text: str) -> list[dict]:
        resp = self._http.urlopen("POST", self._path, headers=self._headers, timeout=self.timeout,
                                  body=json.dumps({"sender": str(conversation_id), "message": text}))
        if resp.status != 200:
            raise ValueError(f"Rasa answered HTTP {resp.status}")
        data = json.loads(resp.data)
        if not isinstance(data, list):
            raise ValueError("unexpected answer from Rasa")
        return [r for r in data if isinstance(r, dict)]

    def _hand_over_on_request(self, conversation_id: int) -> None:
        result = conversations.request_handoff(conversation_id, "customer_request")
        log.info("handoff asked in words conversation=%s status=%s", conversation_id, result["status"])
        if result["status"] == "queued":
            conversations.post_system_message(conversation_id, "I'm connecting you with a person. Someone will "
                                              "join this chat shortly; you can keep writing here in the meantime.")
        elif result["status"] == "closed":
            conversations.post_system_message(conversation_id, closed_words(result["closed"]),
                                              [{"title": "Open a ticket", "payload": TICKET}])
        else:
            self._ticket_opened(conversation_id, result["ticket"]["number"], result["email_known"])

    def _bot_unavailable(self, conversation_id: int, text: str) -> None:
        """Keep the promise of the offer buttons even though the bot cannot act on them."""
        if text.strip() == HUMAN:
            result = conversations.request_handoff(conversation_id, "bot_error")
            if result["status"] == "queued":
                conversations.post_system_message(conversation_id, "I'm connecting you with a person. "
                                                  "Someone will be with you shortly.")
            else:
                self._ticket_opened(conversation_id, result["ticket"]["number"], result["email_known"])
            return
        if text.strip() == TICKET:
            result = conversations.request_handoff(conversation_id, "bot_error")
            if result["status"] == "ticket":
                self._ticket_opened(conversation_id, result["ticket"]["number"], result["email_known"])
            else:
                conversations.post_system_message(conversation_id, "I'm connecting you with a person instead; "
                                                  "they can open a ticket for you.")
            return
        conversations.post_system_message(conversation_id, BOT_DOWN, OFFER)

    def answer_unanswered(self, stored_before: datetime, max_age: timedelta = timedelta(hours=24)) -> int:
        """Relay again, once, the customer messages stored before `stored_before` (the start of this
        process) that nothing answered while the bot owned the conversation: the process that
        acknowledged them died before the bot's reply was stored. Returns how many were relayed.

        Only replies stored before `stored_before` count: a customer who typed again after the restart
        and got an answer still gets one to the question that was lost.

        Each conversation is claimed with a compare-and-set on its updated_at, and only while nothing
        changed it since `stored_before` (a claim by another process does), so processes starting
        together relay a message once between them. Older questions than `max_age` are left to the
        transcript: their customer has gone, and an agent reading it sees them.
        """
        pending = _unanswered(stored_before, stored_before - max_age)
        claimed = [(cid, texts) for cid, (seen, texts) in pending.items()
                   if (seen is None or seen < stored_before) and _claim(cid, seen)]
        if not claimed:
            return 0
        log.info("relaying unanswered messages conversations=%s messages=%s",
                 len(claimed), sum(len(texts) for _, texts in claimed))
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="relay-again") as pool:
            for cid, texts in claimed:
                pool.submit(self._relay_all, cid, texts)
        return sum(len(texts) for _, texts in claimed)

    def _relay_all(self, conversation_id: int, texts: list[str]) -> None:
        for text in texts:
            try:
                self.relay(conversation_id, text)
            except Exception:  # one conversation's failure must not keep the others unanswered
                log.exception("relaying again failed conversation=%s", conversation_id)
                return

    def wait_for_rasa(self, timeout: float) -> bool:
        """Whether Rasa answers within `timeout` seconds: after a restart of everything the service is
        up long before Rasa has loaded its model, and questions relayed too early would only get the
        "not available" offer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                # Rasa runs without its HTTP API, so no /version: its root page answers once it serves.
                if self._http.urlopen("GET", self._path.rsplit("/webhooks/", 1)[0] + "/", timeout=2).status < 400:
                    return True
            except (urllib3.exceptions.HTTPError, OSError):
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(2)

    @staticmethod
    def _ticket_opened(conversation_id: int, number: int, email_known: bool) -> None:
        tail = ("We'll reply by email." if email_known
                else "Please leave your email address in the ticket portal so we can reply.")
        conversations.post_system_message(
            conversation_id, f"No agent is available right now, so I've opened ticket #{number} with our "
            f"conversation. {tail}")



_messages, _conversations = Message.__table__, Conversation.__table__


def _unanswered(stored_before: datetime, stored_after: datetime) -> dict[int, tuple[datetime, list[str]]]:
    """Bot-owned conversations whose last messages before `stored_before` are the customer's, stored in the
    window: conversation id -> (its updated_at as read, those texts in order)."""
    reply = _messages.alias("reply")
    answered_up_to = (select(func.coalesce(func.max(reply.c.id), 0))
                      .where(reply.c.conversation_id == _messages.c.conversation_id, reply.c.sender != "customer",
                             reply.c.created_at < stored_before)
                      .scalar_subquery())
    query = (select(_messages.c.conversation_id, _conversations.c.updated_at, _messages.c.text)
             .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
             .where(_conversations.c.status == "bot", _messages.c.sender == "customer",
                    _messages.c.created_at < stored_before, _messages.c.created_at >= stored_after,
                    _messages.c.id > answered_up_to)
             .order_by(_messages.c.id))
    pending: dict[int, tuple[datetime, list[str]]] = {}
    with connection_scope() as conn:
        for cid, updated_at, text in conn.execute(query):
            pending.setdefault(cid, (updated_at, []))[1].append(text)
    return pending


def _claim(conversation_id: int, seen_updated_at: datetime | None) -> bool:
    with connection_scope() as conn:
        return conn.execute(update(_conversations)
                            .where(_conversations.c.id == conversation_id, _conversations.c.status == "bot",
                                   _conversations.c.updated_at.is_not_distinct_from(seen_updated_at))
                            .values(updated_at=utcnow())).rowcount == 1
