"""Security headers on every kind of response, and templates that a strict policy does not break."""
from __future__ import annotations

import re

import pytest

from handoff.config import PROJECT_ROOT
from tests.handoff.conftest import service_app


@pytest.mark.parametrize("path", ["/", "/login", "/portal/login", "/admin/", "/no-such-page",
                                  "/static/widget.js", "/healthz"])
def test_every_response_forbids_framing_sniffing_and_inline_script(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be ignored or harmful


def test_hsts_once_cookies_are_secure(tmp_path, fake_rasa):
    app = service_app(f"sqlite:///{tmp_path / 'h.db'}", fake_rasa, SESSION_COOKIE_SECURE=True)
    assert app.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=31536000")


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|<style|\sstyle\s*=", re.I)


def test_no_template_has_inline_script_style_or_handlers():
    """The policy allows none: an inline handler would silently do nothing (as the FAQ delete confirm did)."""
    pages = [p for p in (PROJECT_ROOT / "web" / "templates").rglob("*.html") if "email" not in p.parts]
    found = [f"{p.relative_to(PROJECT_ROOT)}: {m.group(0)}" for p in pages for m in INLINE.finditer(p.read_text())]
    assert found == []
