"""Mails as customers' mail programs write them, for the inbound tests."""
from __future__ import annotations

import itertools
from email.message import EmailMessage

_ids = itertools.count(1)


def mail(sender="new@example.org", to="support@example.com", subject="Broken blender", body="It stopped.",
         html=None, headers=None, charset=None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<m{next(_ids)}.{id(msg)}@customer.example.org>"
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and body is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body, charset=charset or "utf-8", cte="quoted-printable" if charset else None)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    return bytes(msg)


LATIN1_QP = (b"From: =?iso-8859-1?q?Ren=E9e_M=FCller?= <renee@example.org>\r\n"
             b"To: support@example.com\r\nSubject: =?iso-8859-1?q?Pr=FCfung_fehlgeschlagen?=\r\n"
             b"Message-ID: <latin1-1@example.org>\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
             b"Der Mixer l=E4uft nicht mehr, sch=F6ne Gr=FC=DFe.\r\n")
MALFORMED = b"\x00\xff\xfe this is not a mail at all\r\n\r\n\x89PNG garbage"
