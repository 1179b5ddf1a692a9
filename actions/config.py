"""Settings of the action server, parsed once from environment variables.

Defaults suit a local run (`make run`); production sets HANDOFF_URL and SERVICE_TOKEN. ACTIONS_TOKEN is the
secret Rasa presents to the action server; with none set, the server refuses to start.
"""

import os
from dataclasses import dataclass
from typing import Mapping, Optional


@dataclass(frozen=True)
class Settings:
    handoff_url: str = "http://127.0.0.1:5000"
    service_token: str = "dev-service-token"
    timeout: float = 3.0
    actions_token: str = ""

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        environ = os.environ if environ is None else environ
        raw_timeout = environ.get("HANDOFF_TIMEOUT", str(cls.timeout))
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise ValueError(
                f"HANDOFF_TIMEOUT must be a number of seconds, not {raw_timeout!r}."
            ) from None
        if timeout <= 0:
            raise ValueError(f"HANDOFF_TIMEOUT must be positive, not {raw_timeout!r}.")
        return cls(
            handoff_url=environ.get("HANDOFF_URL", cls.handoff_url).rstrip("/"),
            service_token=environ.get("SERVICE_TOKEN", cls.service_token),
            timeout=timeout,
            actions_token=environ.get("ACTIONS_TOKEN", ""),
        )


settings = Settings.from_env()
