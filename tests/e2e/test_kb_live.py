"""An admin adds an FAQ in /admin/kb and the real bot answers the next customer with it, without a restart."""
from __future__ import annotations

import re

import pytest

from tests.e2e.clients import login_session

pytestmark = pytest.mark.e2e

QUESTION = "Do you sell gift cards?"
ANSWER = "Yes! Northwind gift cards from $10 to $500 are sold at https://example.com/gift-cards and in every store."


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def test_faq_added_by_an_admin_answers_the_next_customer_at_once(stack, customer):
    before = customer().ask(QUESTION)
    assert ANSWER not in [m["text"] for m in before]
    assert "don't know" in before[0]["text"], before  # the demo knowledge base does not cover it

    admin = login_session(stack.url, stack.logins["admin"]["email"], stack.logins["admin"]["password"])
    form = admin.get(f"{stack.url}/admin/kb/new", timeout=10)
    assert form.status_code == 200
    created = admin.post(f"{stack.url}/admin/kb/new", allow_redirects=False, timeout=10, data={
        "csrf_token": csrf_token(form.text), "phrasings": f"{QUESTION}\nCan I buy a gift card?\nGift vouchers",
        "answer": ANSWER, "category": "billing", "slug": "e2e-gift-cards", "enabled": "1"})
    assert created.status_code == 302, created.text[:500]
    listing = admin.get(f"{stack.url}/admin/kb/", params={"q": "e2e-gift-cards"}, timeout=10).text
    faq_id = re.search(r'data-faq-id="(\d+)" data-slug="e2e-gift-cards"', listing).group(1)
    try:
        replies = customer().ask(QUESTION)
        assert replies[0]["sender"] == "bot" and replies[0]["text"] == ANSWER
    finally:  # the stack is shared with the other end-to-end tests
        deleted = admin.post(f"{stack.url}/admin/kb/{faq_id}/delete", allow_redirects=False, timeout=10,
                             data={"csrf_token": csrf_token(listing)})
        assert deleted.status_code == 302
    assert customer().ask(QUESTION)[0]["text"] != ANSWER
