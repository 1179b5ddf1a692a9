"""How often someone may do something: named rates ("10 per 10 seconds;300 per hour") counted per key.

Counts live in Redis when REDIS_URL is set, so every process agrees; otherwise in this process's memory.
A moving window lets a burst through up to the first rate, then holds the sender to it.
"""
from __future__ import annotations

import logging
import math
import time

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from handoff.errors import ServiceError

log = logging.getLogger("careregistry.rates")


class TooFast(ServiceError):
    status = 429


class Rates:
    def __init__(self, storage_uri: str | None, rules: dict[str, str]):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri or "memory://"))
        self._rules = {name: parse_many(rule) for name, rule in rules.items() if rule}

    def hit(self, name: str, *key: str) -> bool:
        """Count one go, or refuse it (counting nothing) when it would exceed any of the rates."""
        rates = self._rules.get(name, ())
        if not all(self._limiter.test(rate, name, *map(str, key)) for rate in rates) or \
                not all([self._limiter.hit(rate, name, *map(str, key)) for rate in rates]):
            log.info("rate exceeded rate=%s", name)
            return False
        return True

    def allowed(self, name: str, *key: str) -> bool:
        """Whether one more go would pass, counting nothing (count failures afterwards with hit)."""
        return all(self._limiter.test(rate, name, *map(str, key)) for rate in self._rules.get(name, ()))

    def wait_seconds(self, name: str, *key: str) -> int:
        """How long until the next go passes, for the refusal's wording."""
        resets = [self._limiter.get_window_stats(rate, name, *map(str, key)).reset_time
                  for rate in self._rules.get(name, ())]
        return max(1, math.ceil(max(resets, default=0) - time.time()))

    def require(self, name: str, *key: str, message: str) -> None:
        """Count one go or refuse it with `message`, which may name {wait} (e.g. "a few seconds")."""
        if not self.hit(name, *key):
            raise TooFast(message.format(wait=wait_words(self.wait_seconds(name, *key))))


def wait_words(seconds: int) -> str:
    if seconds < 60:
        return "a few seconds" if seconds <= 10 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"
