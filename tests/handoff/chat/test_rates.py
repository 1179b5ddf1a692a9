"""The in-process moving window behind every rate when no Redis is configured."""
from __future__ import annotations

import pytest

from handoff.chat import rates
from handoff.chat.rates import Rates, TooFast


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(rates.time, "time", clock)
    return clock


def test_a_burst_passes_then_the_sender_is_held_to_the_window(clock):
    r = Rates(None, {"chat": "3 per 10 seconds;5 per minute"})
    assert [r.hit("chat", "ann") for _ in range(4)] == [True, True, True, False]
    assert r.hit("chat", "bob")  # every key has its own window
    with pytest.raises(TooFast, match="a few seconds"):
        r.require("chat", "ann", message="Slow down; wait {wait}.")
    clock.now += 10
    assert [r.hit("chat", "ann") for _ in range(3)] == [True, True, False]  # the minute's 5 are used up
    assert r.wait_seconds("chat", "ann") == 50
    clock.now += 50
    assert r.allowed("chat", "ann") and r.hit("chat", "ann")


def test_a_refused_go_is_not_counted(clock):
    r = Rates(None, {"login": "2 per minute"})
    r.hit("login", "1.2.3.4")
    r.hit("login", "1.2.3.4")
    for _ in range(10):
        assert not r.hit("login", "1.2.3.4")
    clock.now += 60.1
    assert r.hit("login", "1.2.3.4")


def test_idle_keys_are_swept(clock):
    window = rates.LocalMovingWindow()
    item = rates.parse_many("1 per second")[0]
    for sid in range(100):
        window.hit(item, "chat", str(sid))
    clock.now += window.SWEEP_SECONDS + 1
    window.hit(item, "chat", "new")
    assert len(window._goes) == 1
