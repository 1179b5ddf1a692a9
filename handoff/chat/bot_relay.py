"""Relays a customer's message to Rasa's REST channel and stores what the bot answers.

Rasa is reached with a bounded timeout. When it is down, slow or answers nothing, the customer is told so
and offered a person or a ticket; the two offers work without the bot.
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict

import requests

from handoff.chat import conversations

log = logging.getLogger("careregistry.bot_relay")

HUMAN, TICKET = "/human_handoff", "/open_ticket"
OFFER = [{"title": "Talk to a person", "payload": HUMAN}, {"title": "Open a ticket", "payload": TICKET}]
BOT_DOWN = ("Sorry, our assistant is not available right now. Your message is saved. "
            "Would you like to talk to a person or open a ticket?")


class BotRelay:
    def __init__(self, rasa_url: str, timeout: float, token: str):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.timeout = timeout
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {token}"
        # One reply at a time per conversation, so answers come out in the order questions went in.
        self._locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)

    def relay(self, conversation_id: int, text: str) -> None:
        with self._locks[conversation_id]:
            if conversations.status_of(conversation_id) != "bot":
                return  # a person took over while this message waited
            try:
                replies = self._ask(conversation_id, text)
            except (requests.RequestException, ValueError) as err:
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
        resp = self._http.post(self.url, json={"sender": str(conversation_id), "message": text},
                               timeout=self.timeout)
        resp.raise_for_status()
        data = resp.json()
        if not isinstance(data, list):
            raise ValueError("unexpected answer from Rasa")
        return [r for r in data if isinstance(r, dict)]

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

    @staticmethod
    def _ticket_opened(conversation_id: int, number: int, email_known: bool) -> None:
        tail = ("We'll reply by email." if email_known
                else "Please leave your email address in the ticket portal so we can reply.")
        conversations.post_system_message(
            conversation_id, f"No agent is available right now, so I've opened ticket #{number} with our "
            f"conversation. {tail}")

