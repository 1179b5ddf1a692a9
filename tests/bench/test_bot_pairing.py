"""The bot benchmark's turn-by-turn figure: the same turns answered by both sides, compared one by one."""
from __future__ import annotations

import statistics

from bench.bot_latency import _paired


def test_a_reply_mix_in_two_groups_cannot_flip_the_turn_by_turn_figure():
    # Rasa answers 201 quick replies in ~15 ms and 200 FAQ answers in ~40 ms; ours adds 3 ms to each.
    rasa = {(n, 0): 0.015 + n * 1e-6 for n in range(201)} | {(n, 1): 0.040 + n * 1e-6 for n in range(200)}
    ours = {turn: latency + 0.003 for turn, latency in rasa.items()}
    ours[(0, 0)] = 0.041 + 0.003  # one quick reply of ours came late: the p50 crosses the gap
    p50_gap_ms = (statistics.median(ours.values()) - statistics.median(rasa.values())) * 1000
    assert p50_gap_ms > 20  # what the p50s' difference would report
    assert _paired(ours, rasa) == {"n": 401, "median_diff_ms": 3.0}


def test_only_turns_both_sides_answered_are_compared():
    assert _paired({(1, 0): 0.030, (2, 0): 0.500}, {(1, 0): 0.025, (3, 0): 0.010}) == {"n": 1, "median_diff_ms": 5.0}
    assert _paired({}, {(1, 0): 0.025}) == {"n": 0, "median_diff_ms": None}
