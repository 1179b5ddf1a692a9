"""SLA timers as agents read them, counted down in Debian's Chromium."""
from __future__ import annotations

import pytest

RENDER = """seconds => window.ccrSla.render([{label: "resolution", state: "ok",
  due: new Date(Date.now() + seconds * 1000).toISOString(), warn: new Date(Date.now() + 1e9).toISOString()}])[0]
  .textContent"""


@pytest.mark.parametrize("seconds, reads", [
    (86_380, "resolution: 24 h 0 min left"),  # 23 h 59 min 40 s: not "23 h 60 min"
    (86_300, "resolution: 23 h 58 min left"),
    (3_590, "resolution: 1 h 0 min left"),  # not "60 min"
    (1_800, "resolution: 30 min left"),
    (-7_260, "resolution: overdue 2 h 1 min"),
    (3 * 86_400, "resolution: 3 days left"),
])
def test_time_left_reads_in_whole_minutes(browser, stack, seconds, reads):
    page = browser.new_context().new_page()
    try:
        page.goto(f"{stack.url}/login")
        assert page.evaluate(RENDER, seconds) == reads
    finally:
        page.context.close()
