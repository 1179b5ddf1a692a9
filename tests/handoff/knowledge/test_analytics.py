"""Bot analytics over a period, on a small set of conversations, handoffs and searches built by hand."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from handoff.db import session_scope
from handoff.errors import ServiceError
from handoff.knowledge import analytics, faqs
from handoff.models import Conversation, Customer, FaqQuery, Handoff, Message

IN = datetime(2025, 3, 10, 12, 0)
BEFORE = datetime(2025, 2, 27, 23, 59)  # the day before the period
LAST_DAY = datetime(2025, 3, 31, 23, 59)
AFTER = datetime(2025, 4, 1, 0, 0)
MARCH = analytics.period("2025-03-01", "2025-03-31")


@pytest.fixture
def admin(staff, make_agent):
    return staff(make_agent("Ada Admin", role="admin"))


def chat(s, customer_at=(IN,), handoffs=()) -> int:
    """A conversation whose customer wrote at these times, with (reason, at) handoffs."""
    customer = Customer()
    s.add(customer)
    s.flush()
    c = Conversation(customer_id=customer.id, status="bot")
    s.add(c)
    s.flush()
    s.add(Message(conversation_id=c.id, sender="bot", text="Hi!", created_at=IN))
    for at in customer_at:
        s.add(Message(conversation_id=c.id, sender="customer", text="hello", created_at=at))
    for reason, at in handoffs:
        s.add(Handoff(conversation_id=c.id, reason=reason, outcome="queued", created_at=at))
    return c.id


def searched(s, text, decision, faq_id=None, at=IN):
    s.add(FaqQuery(text=text, normalized=text.lower(), decision=decision, faq_id=faq_id,
                   score=0.5 if faq_id else 0.05, created_at=at))


@pytest.fixture
def month(seeded):
    refund = next(f["id"] for f in faqs.list_faqs() if f["slug"] == "refund-timeline")
    payment = next(f["id"] for f in faqs.list_faqs() if f["slug"] == "payment-methods")
    with session_scope() as s:
        chat(s)  # contained
        chat(s, customer_at=(IN, LAST_DAY))  # contained
        chat(s, customer_at=(LAST_DAY,))  # contained, on the period's last minute
        chat(s, handoffs=[("customer_request", IN)])
        chat(s, handoffs=[("low_confidence", IN), ("repeated_fallback", IN)])  # one chat, two handoffs
        chat(s, handoffs=[("repeated_fallback", IN)])
        chat(s, handoffs=[("bot_error", BEFORE)])  # handed off before the period: contained in it
        chat(s, customer_at=(BEFORE, AFTER))  # not active in the period
        chat(s, customer_at=(AFTER,), handoffs=[("customer_request", AFTER)])
        chat(s, customer_at=())  # the customer never wrote
        for _ in range(3):
            searched(s, "how long does a refund take", "answer", refund)
        searched(s, "payment options", "answer", payment)
        searched(s, "payment options", "answer", payment)
        searched(s, "refund or payment?", "choose", refund)
        searched(s, "do you sell gift cards", "unknown")
        searched(s, "do you sell gift cards", "unknown")
        searched(s, "is there a store in oslo", "unknown")
        searched(s, "refund?", "answer", refund, at=BEFORE)
        searched(s, "old question", "unknown", at=AFTER)
    return {"refund": refund, "payment": payment}


def test_report_counts_containment_fallbacks_reasons_and_top_questions(month):
    r = analytics.report(MARCH)
    # Active in March: the 3 contained + 3 handed off + the one handed off in February = 7.
    assert (r["conversations"], r["handed_off"], r["contained"]) == (7, 3, 4)
    assert r["containment_rate"] == round(4 / 7, 4)
    assert r["handoff_reasons"] == {"customer_request": 1, "low_confidence": 1, "repeated_fallback": 2,
                                    "bot_error": 0}
    assert r["handoffs"] == 4 and r["repeated_fallback_handoffs"] == 2
    assert r["searches"] == 9 and r["decisions"] == {"answer": 5, "choose": 1, "unknown": 3}
    assert r["fallback_rate"] == round(3 / 9, 4)
    assert [(a["faq_id"], a["count"]) for a in r["most_asked"]] == [(month["refund"], 3), (month["payment"], 2)]
    assert r["most_asked"][0]["question"] == "How long does a refund take?"
    assert [(u["question"], u["count"]) for u in r["most_unanswered"]] == [("do you sell gift cards", 2),
                                                                           ("is there a store in oslo", 1)]


def test_a_deleted_faq_still_counts_among_the_most_asked(month):
    faqs.delete_faq(month["refund"])
    top = analytics.report(MARCH)["most_asked"][0]
    assert (top["faq_id"], top["count"], top["question"]) == (month["refund"], 3, None)


def test_an_empty_period_has_no_rates_rather_than_zero_division(month):
    r = analytics.report(analytics.period("2024-01-01", "2024-01-31"))
    assert r["conversations"] == 0 and r["containment_rate"] is None and r["fallback_rate"] is None
    assert r["most_asked"] == [] and r["most_unanswered"] == []


def test_the_default_period_is_the_last_30_days_and_bad_dates_are_refused():
    p = analytics.period(today=date(2025, 3, 31))
    assert (p.since, p.until) == (date(2025, 3, 2), date(2025, 3, 31))
    assert analytics.period(until="2025-03-31").since == date(2025, 3, 2)
    with pytest.raises(ServiceError, match="YYYY-MM-DD"):
        analytics.period("31/03/2025")
    with pytest.raises(ServiceError, match="after the end"):
        analytics.period("2025-04-01", "2025-03-01")


def test_the_analytics_page_shows_the_period_numbers(month, admin):
    page = admin.get("/admin/kb/analytics", query_string={"since": "2025-03-01", "until": "2025-03-31"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'id="stat-containment"><span class="stat-value">57\.1%', html)
    assert "4 of 7 conversations" in html and "3 of 9" in html
    assert re.search(r'data-reason="repeated_fallback">.*?<td class="num">2</td>', html, re.S)
    assert "do you sell gift cards</td><td class=\"num\">2<" in html
    assert f'data-faq-id="{month["refund"]}"' in html

    bad = admin.get("/admin/kb/analytics", query_string={"since": "March"}).get_data(as_text=True)
    assert "The start date must be written YYYY-MM-DD." in bad
