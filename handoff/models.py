"""Domain nouns: Customer, Team, SlaPolicy, Category, Agent, AgentSocket, Conversation, Message, Handoff, Ticket, TicketEvent,
Faq, FaqPhrasing, CannedReply, TriageCorrection, and the service's own records (outbox, inbound mail, log-in attempts,
FAQ queries)."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    LargeBinary,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from handoff.db import Base

# The topics a new install starts with; admins manage them in /admin/routing (table `categories`).
SEED_CATEGORIES = ("billing", "account", "orders", "technical")
HANDOFF_REASONS = ("customer_request", "low_confidence", "repeated_fallback", "bot_error")
SENDERS = ("customer", "bot", "agent", "system")
# A conversation's owner: the bot, the queue, or an agent; resolved when an agent closes it.
CONVERSATION_STATUSES = ("bot", "queued", "agent", "resolved")
TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
# What an agent chose to be; they are offline whatever they chose once their console stops answering.
PRESENCES = ("online", "away", "offline")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_reply_token() -> str:
    return secrets.token_hex(10)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="en")
    # The registered account this anonymous visitor turned out to be; their chats and tickets moved there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # Part of every log-in session's id; raising it ends every session (log-out, new password).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    conversations: Mapped[list[Conversation]] = relationship(back_populates="customer")
    tickets: Mapped[list[Ticket]] = relationship(back_populates="customer")

    @property
    def label(self) -> str:
        return self.name or self.email or f"Visitor {self.id}"


class Team(Base):
    """A group of agents that owns some categories; its unassigned tickets wait in its own queue."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # Business hours (routing/hours.py's stored form); None: always open.
    hours: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SlaPolicy(Base):
    """Response and resolution targets for one priority, for one team or (no team) for everyone else."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("priority", "team_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    # Business seconds; 0: no target.
    first_response_s: Mapped[int] = mapped_column(Integer, default=0)
    next_response_s: Mapped[int] = mapped_column(Integer, default=0)
    resolution_s: Mapped[int] = mapped_column(Integer, default=0)
    # The escalation at a breach: one priority step up, and/or back to the queue for someone else.
    raise_priority: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    requeue: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Category(Base):
    """A topic of conversations, tickets and FAQs (billing, orders, ...): agents' skills name these."""

    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | admin
    skills: Mapped[list] = mapped_column(JSON, default=list)  # category slugs
    capacity: Mapped[int] = mapped_column(Integer, default=5)  # open chats at once
    ticket_capacity: Mapped[int] = mapped_column(Integer, default=20, server_default="20")  # open tickets
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Live Socket.IO connections; > 0 means a console is open. Reset at start-up.
    connections: Mapped[int] = mapped_column(Integer, default=0)
    # What the agent chose (online | away | offline); None: online for agents, offline for admins.
    presence: Mapped[str | None] = mapped_column(String(16))
    # The console's last heartbeat: without one for a minute the agent is offline whatever they chose.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Raised by every assignment to this agent: a claim names the version its capacity check saw, so two
    # processes that both saw room for one more cannot both fill it.
    routing_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Part of every log-in session's id; raising it ends every session (log-out, deactivation).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    conversations: Mapped[list[Conversation]] = relationship(back_populates="agent",
                                                             foreign_keys="Conversation.agent_id")


class AgentSocket(Base):
    """An open /agent socket, in whichever process holds it, so deactivation can close it at once."""

    __tablename__ = "agent_sockets"
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Routing: the topic (a category slug) and priority the chat was queued with, and the agent it is
    # offered to while they have not yet accepted it (the offer lapses after ASSIGN_ACCEPT_TIMEOUT).
    topic: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    offered_to_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    offered_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Taken back from an agent who went offline: it goes before everything else waiting.
    first_in_line: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What triage made of it: {"priority", "reasons": ["angry tone", ...], "tone"} (routing/triage.py).
    triage: Mapped[dict | None] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The customer's 1-5 rating after an agent resolved the chat, and what they wrote with it.
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The page the widget was on and the browser, as the visitor's browser last reported them (untrusted).
    page_url: Mapped[str | None] = mapped_column(String(500))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    # SLA timers (routing/sla.py), and the next moment one reaches a level not yet announced (the
    # watcher's one indexed query).
    sla: Mapped[dict | None] = mapped_column(JSON)
    sla_check_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # The customer's open widget sockets, over every process, and when the last of them closed: past
    # CUSTOMER_GONE_AFTER the agent is told the customer left (chat/customer_presence.py).
    customer_sockets: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    customer_gone_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    customer: Mapped[Customer] = relationship(back_populates="conversations")
    agent: Mapped[Agent | None] = relationship(back_populates="conversations", foreign_keys=[agent_id])
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "client_msg_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    sender: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list] = mapped_column(JSON, default=list)
    # Staff only (a transfer's note, why a chat came back to the queue): customers never see it.
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    agent: Mapped[Agent | None] = relationship()
    # Loaded with the messages in one query, so a transcript does not ask once per message.
    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin", order_by="Attachment.id")


class Handoff(Base):
    """Every time the bot gave a conversation up, with the reason and what became of it."""

    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # queued | ticket
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)  # the ticket number customers see
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    source: Mapped[str] = mapped_column(String(16), default="bot")  # bot | handoff | portal | agent | email
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # follow-up of a closed ticket
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)  # came from a failed bot handoff
    triage: Mapped[dict | None] = mapped_column(JSON)  # why it got its priority (routing/triage.py)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list | None] = mapped_column(JSON, default=list)
    # The ticket's part of its mails' Reply-To (support+t<token>@...): random, so knowing a ticket's number
    # is not enough to write on it by mail. Lower-case hex survives mail servers that fold case.
    reply_token: Mapped[str] = mapped_column(String(32), unique=True, default=new_reply_token)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # SLA: when an agent first answered publicly, the timers (routing/sla.py) and the watcher's next look.
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime)
    sla: Mapped[dict | None] = mapped_column(JSON)
    sla_check_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    customer: Mapped[Customer] = relationship(back_populates="tickets")
    assignee: Mapped[Agent | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(order_by="TicketEvent.id")


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # created, assigned, status_changed, reply, note...
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    actor: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Faq(Base):
    __tablename__ = "faqs"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    phrasings: Mapped[list[FaqPhrasing]] = relationship(
        back_populates="faq", cascade="all, delete-orphan", order_by="FaqPhrasing.id"
    )


class FaqPhrasing(Base):
    __tablename__ = "faq_phrasings"
    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[int] = mapped_column(ForeignKey("faqs.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    faq: Mapped[Faq] = relationship(back_populates="phrasings")


class KnowledgeVersion(Base):
    """A counter bumped by every FAQ change, so each process knows when to rebuild its index."""

    __tablename__ = "knowledge_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Setting(Base):
    """One setting an admin changes at run time (e.g. the bot's risk of a wrong answer), by name."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class OutboxMail(Base):
    """Mail to send, committed with the change that caused it; a worker delivers it, retrying."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Mails with the same key replace each other while unsent ("assigned to Sam", then "to Ann": one mail).
    coalesce_key: Mapped[str | None] = mapped_column(String(80), index=True)
    # The ticket a customer's reply to this mail belongs on (found by its Message-ID in In-Reply-To).
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reply_to: Mapped[str | None] = mapped_column(String(254))
    # Stored files sent with the mail: [{"name", "type", "path"}].
    files: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CannedReply(Base):
    """A prepared reply agents insert with /shortcut: shared (no agent) or one agent's own."""

    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TriageCorrection(Base):
    """An agent's verdict on a triage: what was predicted, what it should have been (equal when the agent
    confirmed it), and what the cues alone said, so the organisation's model is measured against them."""

    __tablename__ = "triage_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(8))  # ticket | chat
    item_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key: two tables, kept as history
    text: Mapped[str] = mapped_column(Text)  # what the prediction was made from
    predicted_priority: Mapped[str] = mapped_column(String(16))
    predicted_category: Mapped[str | None] = mapped_column(String(32))
    corrected_priority: Mapped[str] = mapped_column(String(16))
    corrected_category: Mapped[str | None] = mapped_column(String(32))
    cue_priority: Mapped[str] = mapped_column(String(16))
    cue_category: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class LoginAttempt(Base):
    """Failed log-ins, for throttling per account and per address across processes."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class FaqQuery(Base):
    """Every FAQ search the bot made: what was asked, what it decided, and how sure it was."""

    __tablename__ = "faq_queries"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(1000))
    normalized: Mapped[str] = mapped_column(String(1000), index=True)
    decision: Mapped[str] = mapped_column(String(16), index=True)  # answer | choose | unknown
    # The top match. No foreign keys: this is an append-only log written on the bot's hot path, and
    # deleting an FAQ must not rewrite or block on its history.
    faq_id: Mapped[int | None] = mapped_column(Integer, index=True)
    score: Mapped[float | None] = mapped_column(Float)
    conversation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


UNANSWERED_SOURCES = ("search", "handoff", "ticket")
UNANSWERED_STATUSES = ("open", "approved", "dismissed")


class UnansweredQuestion(Base):
    """A question the bot could not answer, kept until an admin turns it into an FAQ or dismisses it."""

    __tablename__ = "unanswered_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(1000))
    normalized: Mapped[str] = mapped_column(String(1000), index=True)
    source: Mapped[str] = mapped_column(String(16))  # search | handoff | ticket
    # What it was collected from ("search:12", "handoff:3", "ticket:7"), so collecting twice adds nothing.
    source_key: Mapped[str] = mapped_column(String(40), unique=True)
    conversation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    faq_id: Mapped[int | None] = mapped_column(Integer)  # the FAQ an approval created
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)


INBOUND_STATUSES = ("ticket", "reply", "follow_up", "held", "accepted", "rejected", "loop", "rate_limited",
                    "unreadable", "ignored")


class InboundMail(Base):
    """Every mail that came in, whatever became of it: the raw message is kept, so none is ever lost."""

    __tablename__ = "inbound_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID (or the raw bytes' hash when it has none): the same mail fetched twice lands once.
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16))  # imap | smtp | cli
    from_addr: Mapped[str | None] = mapped_column(String(254), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    text: Mapped[str | None] = mapped_column(Text)  # the new part, quotes and signature stripped
    original: Mapped[str | None] = mapped_column(Text)  # the whole body as text, for staff
    html: Mapped[str | None] = mapped_column(Text)  # sanitised
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(120))  # who accepted or rejected a held mail


class Attachment(Base):
    """A file on a ticket's message or a chat message; its content is under ATTACHMENT_DIR, named by its SHA-256."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)  # None: a chat's file
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))  # as the sender named it, cleaned; never a path
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # False: on an internal note or held mail
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
