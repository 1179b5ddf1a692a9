"""A clear 413 for a long-polling POST larger than Engine.IO accepts, before Engine.IO sees it.

Engine.IO answers an oversized POST by closing the whole session, with no HTTP answer the client can
show. This middleware sits in front of it: the request is refused with 413 and a sentence saying the
limit, the body is read off (up to a bound) so the client gets the answer rather than a reset, and the
session is left as it was, so the next, smaller packet goes through.
"""
from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)

# Read at most this much of a refused body, so the client still reads our answer; beyond it the
# connection is closed after the answer instead.
DRAIN_LIMIT = 1024 * 1024


class SocketBodyLimit:
    def __init__(self, app, max_bytes: int, path: str = "/socket.io/"):
        self.app = app
        self.max_bytes = max_bytes
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(self.path):
            size = _content_length(environ)
            if size is not None and size > self.max_bytes:
                return self._refuse(environ, start_response, size)
        return self.app(environ, start_response)

    def _refuse(self, environ, start_response, size: int):
        log.info("socket_post_refused bytes=%d limit=%d", size, self.max_bytes)
        headers = [("Content-Type", "application/json")]
        if size <= DRAIN_LIMIT:
            _drain(environ.get("wsgi.input"), size)
        else:
            headers.append(("Connection", "close"))
        kilobytes = self.max_bytes // 1024
        body = json.dumps({
            "error": "too_large",
            "message": f"That message is too large to send: the limit is {kilobytes} KB. "
                       "Send a shorter message or attach the text as a file.",
        }).encode()
        headers.append(("Content-Length", str(len(body))))
        start_response("413 Request Entity Too Large", headers)
        return [body]


def _content_length(environ) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _drain(stream, size: int) -> None:
    if stream is None:
        return
    left = size
    while left > 0:
        chunk = stream.read(min(left, 64 * 1024))
        if not chunk:
            return
        left -= len(chunk)
