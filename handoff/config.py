"""Settings, parsed once from environment variables with safe defaults for a local run."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CCR_VAR_DIR", PROJECT_ROOT / "var"))


def _local_secret(name: str, var_dir: Path = VAR_DIR) -> str:
    """A random secret kept in var/ so a local install is safe without configuration."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def public_url() -> str:
    """The address customers reach the service at, for links in emails."""
    return os.environ.get("PUBLIC_URL", f"http://127.0.0.1:{os.environ.get('HANDOFF_PORT', '5000')}").rstrip("/")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


class Config:
    def __init__(self) -> None:
        env = os.environ
        self.DATABASE_URL = env.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'careregistry.db'}"
        self.SECRET_KEY = env.get("SECRET_KEY") or _local_secret("secret_key")
        self.SERVICE_TOKEN = env.get("SERVICE_TOKEN") or _local_secret("service_token")
        self.RASA_URL = env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
        # Presented to Rasa's REST channel (bot/channel.py), which answers nobody else.
        self.RASA_TOKEN = env.get("RASA_TOKEN") or _local_secret("rasa_token")
        self.ACTIONS_URL = env.get("ACTIONS_URL", "http://127.0.0.1:5055").rstrip("/")
        # Bounded waits on the bot: a slow Rasa must not leave a customer without an answer.
        self.RASA_TIMEOUT = _float("RASA_TIMEOUT", 5.0)
        self.HEALTH_TIMEOUT = _float("HEALTH_TIMEOUT", 1.5)
        # Seconds a probe of Rasa or the action server is given again by /healthz (the database is
        # asked on every call): a monitor sees a change within this, and callers cannot multiply probes.
        self.HEALTH_PROBE_FRESH = _float("HEALTH_PROBE_FRESH", 2.0)
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.ALLOWED_ORIGINS = [o for o in env.get("ALLOWED_ORIGINS", "*").split(",") if o]
        self.FAQ_ANSWER_THRESHOLD = _float("FAQ_ANSWER_THRESHOLD", -1)
        self.FAQ_CHOOSE_THRESHOLD = _float("FAQ_CHOOSE_THRESHOLD", -1)
        # The matcher picks its own thresholds from the KB (cross-validation) unless this is 0 or the
        # thresholds above are set by hand; the admin sets the risk in /admin/kb.
        self.FAQ_CALIBRATE = env.get("FAQ_CALIBRATE", "1") != "0"
        self.MAX_MESSAGE_CHARS = 4000
        # Customers' chat sockets one service process holds; beyond it new ones are refused at once with
        # "busy", so agents, pages and /healthz keep answering. The process takes HANDOFF_CONNECTIONS
        # connections at most (gunicorn's gevent worker), so the default leaves a quarter for the rest.
        self.MAX_CHAT_SOCKETS = int(_float("MAX_CHAT_SOCKETS", handoff_connections() * 3 // 4))
        # Whether agents see every ticket, or only the unassigned queue and their own (admins see all).
        self.AGENTS_SEE_ALL = env.get("AGENTS_SEE_ALL", "0") == "1"
        # Seconds a "your ticket's agent" mail waits, so assigning and then reassigning sends one mail.
        self.ASSIGNMENT_MAIL_DELAY = _float("ASSIGNMENT_MAIL_DELAY", 60)
        # Routing: "auto" offers each handed-off chat to the best agent (skill, load, then longest idle) and
        # new tickets likewise; "broadcast" shows every chat to every agent and the first to accept wins.
        self.ROUTING_MODE = env.get("ROUTING_MODE", "auto")
        # Seconds an offered chat waits for its agent before it goes to the next (who missed it is set away).
        self.ASSIGN_ACCEPT_TIMEOUT = _float("ASSIGN_ACCEPT_TIMEOUT", 30)
        # Seconds without a console heartbeat (sent every 20 s) before an agent counts as offline.
        self.PRESENCE_TIMEOUT = _float("PRESENCE_TIMEOUT", 60)
        # Seconds an offline agent's open chats wait for them before going back to the queue, first in line.
        self.OFFLINE_GRACE = _float("OFFLINE_GRACE", 120)
        # Seconds a chat waits for an agent skilled in its topic before any agent with room may take it.
        self.SKILL_WAIT = _float("SKILL_WAIT", 120)
        # SLA timers turn to "warning" once this share of a target has passed (0.8: at 80%); the watcher
        # looks for timers reaching warning or breach every SLA_INTERVAL seconds.
        self.SLA_WARN_RATIO = _float("SLA_WARN_RATIO", 0.8)
        self.SLA_INTERVAL = _float("SLA_INTERVAL", 60)
        # Triage's own model (routing/triage_model.py): the corrections it needs before it may take over from
        # the cues (and then only where it beats them), and how many new ones make it retrain at once (else
        # any new ones are learned within the hour). TRIAGE_MODEL=off keeps the cues in charge.
        self.TRIAGE_MODEL = env.get("TRIAGE_MODEL", "on").lower() != "off"
        self.TRIAGE_MIN_CORRECTIONS = max(int(_float("TRIAGE_MIN_CORRECTIONS", 30)), 10)
        self.TRIAGE_RETRAIN_AFTER = max(int(_float("TRIAGE_RETRAIN_AFTER", 20)), 1)
        # Seconds every widget socket of an agent's chat must have been closed before the agent is told the
        # customer left (a reload or a flaky phone reconnects well within it).
        self.CUSTOMER_GONE_AFTER = _float("CUSTOMER_GONE_AFTER", 60)
        self.COMPANY_NAME = env.get("COMPANY_NAME", "Northwind Gadgets")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "0") == "1"
        self.WTF_CSRF_TIME_LIMIT = None
        # How many reverse proxies in front of the service add X-Forwarded-For/-Proto/-Host; 0 trusts none,
        # since a client could otherwise pick its own address and dodge every per-address limit.
        self.TRUSTED_PROXIES = int(env.get("TRUSTED_PROXIES") or 0)
        # Rates ("N per period;M per period"), counted in Redis when REDIS_URL is set. An empty value
        # turns that limit off. A customer may send a burst of 10 messages, then about one a second.
        self.RATES = {name: env.get(f"RATE_{name.upper()}", default) for name, default in {
            "chat_connection": "10 per 10 seconds",  # messages per widget connection
            "chat_visitor": "20 per 10 seconds;600 per hour",  # messages per conversation, all tabs
            "chat_connect": "60 per minute",  # new widget connections per address
            "agent_connection": "30 per 10 seconds",  # messages per console connection
            "agent": "60 per 10 seconds",  # messages per agent, all tabs
            "login": "10 per minute",  # failed log-ins per address (the account's own lock is 5 per 15 min)
            "register": "10 per hour",  # registrations per address
            "reset": "5 per hour",  # reset requests per address
            "recipient": "3 per hour",  # mails the public forms (reset, registration) send to one address
            "ticket": "10 per hour",  # new tickets per address, in the portal
            "ticket_reply": "60 per hour",  # replies to tickets per address, in the portal
            "chat_files": "10 per minute;60 per hour",  # files sent in one chat (widget and console together)
            "triage_correction": "30 per minute",  # one agent's clicks correcting or confirming triage
        }.items()}
        # Daily backups by the serving processes (one at a time): the hour (UTC) they start, how many daily
        # and weekly copies are kept, and where. BACKUP_HOUR=off leaves backups to the operator.
        self.BACKUP_DIR = env.get("BACKUP_DIR") or str(VAR_DIR / "backups")
        self.BACKUP_HOUR = None if env.get("BACKUP_HOUR", "").lower() == "off" else int(_float("BACKUP_HOUR", 3)) % 24
        self.BACKUP_DAILY_KEEP = max(int(_float("BACKUP_DAILY_KEEP", 7)), 1)
        self.BACKUP_WEEKLY_KEEP = max(int(_float("BACKUP_WEEKLY_KEEP", 4)), 0)
        # Inbound mail. Customers write to INBOUND_ADDRESS (default: MAIL_FROM's address; both read by
        # mail/outbox.py, like the SMTP_* settings); notifications' Reply-To is its plus-address
        # support+t<token>@..., which threads a reply onto its ticket.
        # Mails one sender may send in an hour before more are recorded and not answered (0: no limit).
        self.INBOUND_SENDER_HOURLY = int(_float("INBOUND_SENDER_HOURLY", 20))
        # The SMTP listener a local mail server delivers to; off unless a port is set. Loopback by default.
        self.INBOUND_SMTP_HOST = env.get("INBOUND_SMTP_HOST", "127.0.0.1")
        self.INBOUND_SMTP_PORT = int(_float("INBOUND_SMTP_PORT", 0)) or None
        self.INBOUND_MAX_BYTES = int(_float("INBOUND_MAX_BYTES", 25 * 1024 * 1024))
        # The mailbox polled over IMAP (TLS always: "ssl" on 993, or "starttls"); off unless IMAP_HOST is set.
        self.IMAP_HOST = env.get("IMAP_HOST") or None
        self.IMAP_TLS = env.get("IMAP_TLS", "ssl")
        self.IMAP_PORT = int(_float("IMAP_PORT", 993 if self.IMAP_TLS == "ssl" else 143))
        self.IMAP_USER = env.get("IMAP_USER") or None
        self.IMAP_PASSWORD = env.get("IMAP_PASSWORD") or None
        self.IMAP_FOLDER = env.get("IMAP_FOLDER", "INBOX")
        # Where handled mail is moved (created if missing); empty keeps it in IMAP_FOLDER, marked as read.
        self.IMAP_DONE_FOLDER = env.get("IMAP_DONE_FOLDER", "Processed")
        # A CA bundle to trust for the IMAP server's certificate (a private CA); default: the system's.
        self.IMAP_CAFILE = env.get("IMAP_CAFILE") or None
        # Seconds between polls when the server does not offer IDLE, and the longest IDLE wait.
        self.IMAP_INTERVAL = _float("IMAP_INTERVAL", 60)
        # Files customers and agents attach: where they are kept (outside the web root; backed up with the
        # database), the largest file and the most files on one message.
        self.ATTACHMENT_DIR = env.get("ATTACHMENT_DIR") or str(VAR_DIR / "attachments")
        self.ATTACHMENT_MAX_BYTES = int(_float("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
        self.ATTACHMENT_MAX_COUNT = int(_float("ATTACHMENT_MAX_COUNT", 5))
        # A request larger than every allowed file together is cut off before it is read.
        self.MAX_CONTENT_LENGTH = self.ATTACHMENT_MAX_BYTES * self.ATTACHMENT_MAX_COUNT + 1024 * 1024
        self.TESTING = False

    def as_flask(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


def handoff_connections() -> int:
    """Connections (sockets and requests) one service process serves at once: a greenlet each, ~20 KB."""
    return int(_float("HANDOFF_CONNECTIONS", 8000))
