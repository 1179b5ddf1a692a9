"""Inbound email: mail from customers becomes tickets and replies, by IMAP polling or an SMTP listener."""
