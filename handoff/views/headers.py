"""Security headers on every response the service's pages and files send.

No page of the service may be framed (the widget is a script on the host page, not a frame) and none
runs inline script or style, so a strict policy costs nothing. Static files get the same headers: they
do not stop another site from loading widget.js with a <script> tag, which is how the widget is embedded.
"""
from __future__ import annotations

from flask import Flask, Response, current_app

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",  # the widget shows a chat's photos from blobs it fetched with its visitor id
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS_SECONDS = 365 * 24 * 3600


def secure(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Reset links carry their token in the path: never tell another site where a click came from.
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):  # only served over TLS, so browsers may insist on it
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
