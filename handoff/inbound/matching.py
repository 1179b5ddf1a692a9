"""Which ticket a mail answers: the token in the address it was sent to, else the Message-ID of our
mail it replies to. A ticket's number alone is never enough: "Re: [#12]" in a subject is ignored."""
from __future__ import annotations

import re

from sqlalchemy import select

from handoff.mail import outbox
from handoff.models import OutboxMail, Ticket

_TOKEN = re.compile(r"\+t([0-9a-f]{20})@")


def ticket_for(s, addresses: list[str], references: list[str]) -> Ticket | None:
    support_local, _, support_domain = outbox.support_address().rpartition("@")
    for address in addresses:
        found = _TOKEN.search(address)
        if found and address.endswith("@" + support_domain) and address.startswith(support_local.split("+")[0] + "+"):
            ticket = s.scalar(select(Ticket).where(Ticket.reply_token == found.group(1)))
            if ticket is not None:
                return ticket
    domain = outbox.message_domain().lower()
    for ref in reversed(references):  # the mail it answers directly is named last in References
        found = outbox.OUR_MESSAGE_ID.fullmatch(ref)
        if not found or found.group(3).lower() != domain:
            continue
        mail = s.get(OutboxMail, int(found.group(1)))
        # The creation time in the id must match too, so ids from a database started afresh thread nowhere.
        if mail is not None and mail.ticket_id and f"{mail.created_at:%Y%m%d%H%M%S}" == found.group(2):
            ticket = s.get(Ticket, mail.ticket_id)
            if ticket is not None:
                return ticket
    return None
