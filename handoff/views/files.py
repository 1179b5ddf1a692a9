"""Handing out an attached file: photos shown in the page, everything else only ever downloaded."""
from __future__ import annotations

from flask import send_file

from handoff.tickets.attachments import Served, Upload


def send(served: Served):
    resp = send_file(served.path, mimetype=served.content_type if served.inline else "application/octet-stream",
                     as_attachment=not served.inline, download_name=served.name, conditional=True, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # Even opened on its own, a file may run nothing and load nothing.
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def uploads(files) -> list[Upload]:
    """The request's files (werkzeug's FileStorage), read: the size limit is checked on what was sent."""
    return [Upload(f.filename or "", f.read()) for f in files if f and (f.filename or "").strip()]
