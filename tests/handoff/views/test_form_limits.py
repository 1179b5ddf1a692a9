"""Per-address and per-recipient rates on the public forms: a clear refusal, and nothing stored or mailed."""
from __future__ import annotations

from handoff.db import session_scope
from handoff.models import Customer, OutboxMail, Ticket
from tests.handoff.conftest import PASSWORD


def _count(model) -> int:
    with session_scope() as s:
        return s.query(model).count()


def test_registrations_from_one_address_are_limited(client):
    codes = [client.post("/portal/register", data={"email": f"new{i}@example.com", "password": PASSWORD,
                                                   "password2": PASSWORD}).status_code for i in range(12)]
    assert codes[:10] == [codes[0]] * 10 and codes[10:] == [429, 429]
    refused = client.post("/portal/register", data={"email": "late@example.com", "password": PASSWORD,
                                                    "password2": PASSWORD})
    assert "Please wait" in refused.get_data(as_text=True)
    assert _count(Customer) == 10


def test_reset_mail_to_one_recipient_is_limited_whoever_asks(app, register):
    register().post("/portal/logout")
    before = _count(OutboxMail)
    answers = [app.test_client().post("/portal/forgot", data={"email": "Ann@example.com"}) for _ in range(5)]
    # Registering the address used the first of its three mails.
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 429]
    assert "emailed this address several times" in answers[-1].get_data(as_text=True)
    assert _count(OutboxMail) - before == 2


def test_reset_requests_from_one_address_are_limited(client):
    codes = [client.post("/portal/forgot", data={"email": f"who{i}@example.com"}).status_code for i in range(7)]
    assert codes == [200] * 5 + [429, 429]


def test_new_tickets_from_one_address_are_limited(register):
    ann = register()
    codes = [ann.post("/portal/new", data={"subject": f"Broken {i}", "description": "It does not turn on.",
                                           "category": "technical"}).status_code for i in range(12)]
    assert codes == [302] * 10 + [429, 429]
    assert _count(Ticket) == 10
