"""Socket.IO namespaces, one per audience: /chat for customers, /agent for agents."""
from __future__ import annotations

import functools
import logging

from handoff.errors import ServiceError

log = logging.getLogger("careregistry.sockets")


def acknowledged(handler):
    """Run an event handler; refusals become `{"ok": false, "error"}`, never a traceback to the client."""

    @functools.wraps(handler)
    def wrapper(self, *args):
        try:
            result = handler(self, *args)
        except ServiceError as err:
            return {"ok": False, "error": err.message}
        except Exception:
            log.exception("socket handler failed event=%s", handler.__name__)
            return {"ok": False, "error": "Something went wrong on our side. Please try again."}
        return {"ok": True, **(result or {})}

    return wrapper
