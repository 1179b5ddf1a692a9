"""The routing settings every process uses, set once by the app factory (background timers have no app)."""
from __future__ import annotations

from dataclasses import dataclass

MODES = ("auto", "broadcast")


@dataclass(frozen=True)
class Policy:
    mode: str = "auto"  # auto: offered to the best agent; broadcast: offered to everyone, first to accept
    accept_timeout: float = 30.0  # seconds an offered chat waits for its agent before the next one gets it
    presence_timeout: float = 60.0  # seconds without a console heartbeat before an agent is offline
    offline_grace: float = 120.0  # seconds an offline agent's open chats wait for them before the queue
    skill_wait: float = 120.0  # seconds a chat waits for a skilled agent before any agent may take it
    sla_warn_ratio: float = 0.8  # the share of an SLA target after which its timer shows a warning


current = Policy()


def configure(config) -> Policy:
    global current
    mode = config.get("ROUTING_MODE", "auto")
    if mode not in MODES:
        raise ValueError(f"ROUTING_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    current = Policy(mode=mode, accept_timeout=float(config.get("ASSIGN_ACCEPT_TIMEOUT", 30)),
                     presence_timeout=float(config.get("PRESENCE_TIMEOUT", 60)),
                     offline_grace=float(config.get("OFFLINE_GRACE", 120)),
                     skill_wait=float(config.get("SKILL_WAIT", 120)),
                     sla_warn_ratio=float(config.get("SLA_WARN_RATIO", 0.8)))
    if not 0 < current.sla_warn_ratio <= 1:
        raise ValueError(f"SLA_WARN_RATIO must be above 0 and at most 1, not {current.sla_warn_ratio}")
    return current
