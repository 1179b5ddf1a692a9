"""Email: the outbox written with each change that causes a mail, and its delivery."""
