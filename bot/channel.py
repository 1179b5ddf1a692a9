"""Rasa's REST channel, answering only the handoff service.

The stock channel takes any `sender`, and our senders are conversation ids (small integers): anyone who
reached it could talk as, and read the bot's answers to, any customer. This one asks for the shared secret
(`Authorization: Bearer <RASA_TOKEN>`) before the message reaches Rasa; its URL is the same
(/webhooks/rest/webhook). Loaded by Rasa from bot/credentials.yml (Rasa runs from the project root).
"""
from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request

logger = logging.getLogger("bot.channel")


class TokenRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def __init__(self, token: Text) -> None:
        if not token:
            raise RasaException("The REST channel needs a secret (RASA_TOKEN) shared with the handoff service.")
        self._expected = f"Bearer {token}".encode()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TokenRestInput":
        return cls(str((credentials or {}).get("token") or ""))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def require_secret(request: Request):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, self._expected):
                logger.warning("rest channel call refused path=%s client=%s", request.path, request.ip)
                return response.json({"error": "This channel answers only the handoff service."}, status=401)
            return None

        return blueprint
