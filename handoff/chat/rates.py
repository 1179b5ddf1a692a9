"""How often someone may do something: named rates ("10 per 10 seconds;300 per hour") counted per key.

Counts live in Redis when REDIS_URL is set, so every process agrees; otherwise in this process's memory.
A moving window lets a burst through up to the first rate, then holds the sender to it.

In memory the windows are our own (`LocalMovingWindow`), not the limits library's memory storage: that
one runs a timer thread every 10 ms that walks every key, a fifth of a core at 200 live chats.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from typing import NamedTuple

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from handoff.errors import ServiceError

log = logging.getLogger("careregistry.rates")


class TooFast(ServiceError):
    status = 429


class WindowStats(NamedTuple):
    reset_time: float  # time.time() when the oldest go in the window leaves it
    remaining: int


class LocalMovingWindow:
    """A moving-window limiter in this process's memory, with the limits library's interface.

    Expired goes are dropped when their key is next used; keys nobody used for an hour are swept.
    """

    SWEEP_SECONDS = 3600.0

    def __init__(self) -> None:
        self._goes: dict[str, tuple[float, deque[float]]] = {}  # key -> (window seconds, go times)
        self._lock = threading.Lock()
        self._swept = time.time()

    def _window(self, item, identifiers, now: float) -> deque[float]:
        key = item.key_for(*identifiers)
        expiry = item.get_expiry()
        entry = self._goes.get(key)
        if entry is None:
            entry = self._goes[key] = (expiry, deque())
        goes = entry[1]
        while goes and goes[0] <= now - expiry:
            goes.popleft()
        return goes

    def test(self, item, *identifiers) -> bool:
        with self._lock:
            return len(self._window(item, identifiers, time.time())) < item.amount

    def hit(self, item, *identifiers) -> bool:
        now = time.time()
        with self._lock:
            goes = self._window(item, identifiers, now)
            if len(goes) >= item.amount:
                return False
            goes.append(now)
            if now - self._swept > self.SWEEP_SECONDS:
                self._sweep(now)
            return True

    def get_window_stats(self, item, *identifiers) -> WindowStats:
        now = time.time()
        with self._lock:
            goes = self._window(item, identifiers, now)
            reset = goes[0] + item.get_expiry() if goes else now
            return WindowStats(reset, max(item.amount - len(goes), 0))

    def _sweep(self, now: float) -> None:
        self._goes = {key: (expiry, goes) for key, (expiry, goes) in self._goes.items()
                      if goes and goes[-1] > now - expiry}
        self._swept = now


class Rates:
    def __init__(self, storage_uri: str | None, rules: dict[str, str]):
        self._limiter = (MovingWindowRateLimiter(storage_from_string(storage_uri)) if storage_uri
                         else LocalMovingWindow())
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
        keys = list(map(str, key))
        resets = [self._limiter.get_window_stats(rate, name, *keys).reset_time
                  for rate in self._rules.get(name, ()) if not self._limiter.test(rate, name, *keys)]
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
