"""The organisation's model takes over a prediction only when, on corrections it was not trained on, it is
right more often than the cues, and only from enough corrections on."""
from __future__ import annotations

import itertools

from handoff.routing import triage_fit, triage_model
from handoff.routing.triage_model import Example

# The cues miss a danger the organisation sees every week: smoke and swollen batteries are urgent.
_DANGER = ["The charger smells of smoke", "smoke came out of the adapter", "the battery is swollen and bulging",
           "my power bank is swollen", "there was smoke from the speaker"]
_PLAIN = ["How do I pair my headphones?", "the app shows an error", "where is the manual", "the watch face is wrong",
          "bluetooth keeps dropping", "how do I update the firmware"]


def _examples(n: int, label_danger_as: str = "urgent") -> list[Example]:
    texts = itertools.cycle([(t, label_danger_as) for t in _DANGER] + [(t, "normal") for t in _PLAIN])
    return [Example(f"{t} ({i})", "normal", "technical", label, "technical") for i, (t, label) in zip(range(n), texts)]


def test_the_model_takes_over_when_it_beats_the_cues_on_held_out_corrections():
    verdict = triage_fit.evaluate(_examples(44), "priority")
    assert verdict.in_charge and verdict.model_accuracy > verdict.cue_accuracy
    assert verdict.model.predict([triage_model.features("thick smoke from the adapter", "normal", "technical")]) \
        == ["urgent"]


def test_the_cues_stay_in_charge_when_the_model_is_no_better():
    # Agents confirmed the cues every time: the model can at best tie, and a tie keeps the cues.
    verdict = triage_fit.evaluate(_examples(44, label_danger_as="normal"), "priority")
    assert verdict.cue_accuracy == 1.0 and not verdict.in_charge and verdict.model is None


def test_the_cues_stay_in_charge_when_the_model_is_worse():
    # Labels that follow nothing in the words: the cues' guess (normal) is right most often.
    rows = [Example(f"message number {i}", "normal", "technical", "high" if i % 5 == 0 else "normal", "technical")
            for i in range(50)]
    verdict = triage_fit.evaluate(rows, "priority")
    assert verdict.model_accuracy <= verdict.cue_accuracy and not verdict.in_charge


def test_too_few_corrections_never_take_over_however_good():
    verdict = triage_fit.evaluate(_examples(triage_model.MIN_CORRECTIONS - 1), "priority")
    assert (verdict.in_charge, verdict.model_accuracy) == (False, None)
