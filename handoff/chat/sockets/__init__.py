"""Socket.IO namespaces, one per audience: /chat for customers, /agent for agents."""
from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

from flask import request

from handoff.config import public_url
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


def bare_events(socketio, app, namespace, handlers: dict) -> None:
    """Register the events every live chat sends all the time (messages, typing, heartbeats) with
    python-socketio itself, past Flask-SocketIO's per-event request context: building that (a Request
    from the connection's environ, URL matching, reading and verifying the session cookie) was a fifth
    of the service's CPU at 200 live chats. These handlers take the socket id as an argument and find
    who is asking in what the namespace recorded when the socket connected (which the cookie said
    then); the app context is still pushed for current_app. handlers: event -> method(sid, data)."""
    for event, handler in handlers.items():
        def run(sid, *args, _handler=handler):
            with app.app_context():
                return _handler(sid, args[0] if args else None)

        socketio.server.on(event, run, namespace=namespace.namespace)


def own_origin(origin: str | None, environ: dict) -> bool:
    """Whether a page comes from this service: its PUBLIC_URL, or the host the request was sent to.

    The environ is the one behind ProxyFix, so with TRUSTED_PROXIES set the scheme and host are the
    browser's, not the proxy's.
    """
    if not origin:
        return False
    origin = origin.rstrip("/").lower()
    scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
    return origin in {f"{scheme}://{host}".lower(), _origin_of(public_url())}


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def cors_allowed(allowed: list[str]):
    """Engine.IO's origin check: the service's own pages always; others per ALLOWED_ORIGINS ("*": any).

    Foreign pages only ever get anonymous CORS (the server sends no Allow-Credentials), and the
    namespaces decide what a foreign page may do once connected.
    """
    listed = {_origin_of(o) for o in allowed if o != "*"}

    def check(origin, environ=None):
        if origin is None or own_origin(origin, environ or {}):
            return True
        return "*" in allowed or _origin_of(origin) in listed

    return check


def foreign_origin() -> bool:
    """The socket was opened by a page of another site (no Origin: not a browser, so no ambient cookie risk)."""
    origin = request.headers.get("Origin")
    return bool(origin) and not own_origin(origin, request.environ)
