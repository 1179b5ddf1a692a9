"""Mail to an address nobody has proven carries none of the requester's own words (no spam relay)."""
from __future__ import annotations

SPAM = "Cheap watches at http://spam.example, call now"


def test_a_ticket_from_an_anonymous_chat_mails_only_our_words(customer_socket, api, mailbox, deliver):
    cid = customer_socket().of("history")[0]["conversation_id"]
    resp = api.post(f"/api/conversations/{cid}/tickets",
                    {"description": SPAM, "category": "orders", "email": "victim@example.com"})
    number = resp.get_json()["number"]
    deliver()
    [mail] = mailbox.to("victim@example.com")
    assert mail["Subject"] == f"[#{number}] We received your request"
    assert "spam.example" not in mailbox.text(mail) and f"#{number}" in mailbox.text(mail)
    kept = api.get(f"/api/conversations/{cid}/tickets/{number}").get_json()  # agents still see the words
    assert kept["subject"].startswith("Cheap watches")


def test_a_registered_customer_still_gets_their_subject(register, mailbox, deliver):
    ann = register()
    ann.post("/portal/new", data={"subject": "Blender arrived broken", "description": "The jar is cracked.",
                                  "category": "orders"})
    deliver()
    assert [m["Subject"] for m in mailbox.to("ann@example.com")][-1].endswith(": Blender arrived broken")
