"""The organisation's own triage model, learned from its agents' corrections, and when it is in charge.

Per target (priority, category): TF-IDF over word and character n-grams, then logistic regression. The
cues' own verdict is one of its features (a token like `__cue_p_high`), so it learns where the cues go
wrong rather than starting from nothing. It takes over a target only when, cross-validated on the
corrections (each held-out fold predicted by a model that never saw it), it is right more often than the
cues were on the same items, and only from MIN_CORRECTIONS on: below that an accuracy is noise.

Every serving process trains its own from the database, at start and when corrections come in (the
scheduler's job). The fit runs in a child process (triage_fit.py, scikit-learn), only when there is
enough to train on, and hands back numpy models (handoff/vectors) that predict here; nothing is stored,
so nothing is ever unpickled from disk.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from handoff.db import session_scope
from handoff.models import TriageCorrection, utcnow
from handoff.vectors import child

log = logging.getLogger("careregistry.routing")
TARGETS = ("priority", "category")
MIN_CORRECTIONS = 30
FOLDS = 5
RETRAIN_AFTER = 20  # new corrections that make the next check retrain at once (else hourly)
RETRAIN_EVERY_S = 3600
FITTING = "handoff.routing.triage_fit"  # the child process's module
# Cross-validating thousands of corrections takes seconds; a child taking this long is stuck.
FIT_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Example:
    text: str
    cue_priority: str
    cue_category: str | None
    priority: str
    category: str | None


@dataclass
class Verdict:
    """One target's model, its cross-validated accuracy and the cues' on the same items."""

    examples: int = 0
    model_accuracy: float | None = None
    cue_accuracy: float | None = None
    in_charge: bool = False
    model: object = None  # predict(texts) -> labels: a vectors.text_classifier.TextClassifier or a Constant


@dataclass
class State:
    trained_at: datetime | None = None
    corrections: int = 0
    last_at: datetime | None = None  # the latest correction learned from (a second click updates its row)
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    def predict(self, text: str, cue_priority: str, cue_category: str | None) -> dict[str, tuple[str, str]]:
        """target -> (label, reason) for each target the model is in charge of."""
        found = {}
        for target, verdict in self.verdicts.items():
            if verdict.in_charge and verdict.model is not None:
                label = verdict.model.predict([features(text, cue_priority, cue_category)])[0]
                found[target] = (str(label), f"the team's model, learned from {verdict.examples} corrections")
        return found

    def summary(self) -> dict:
        return {"enabled": enabled, "trained_at": self.trained_at, "corrections": self.corrections,
                "minimum": MIN_CORRECTIONS,
                "targets": {t: {"in_charge": "model" if v.in_charge else "cues", "examples": v.examples,
                                "model_accuracy": v.model_accuracy, "cue_accuracy": v.cue_accuracy}
                            for t, v in ((t, self.verdicts.get(t, Verdict())) for t in TARGETS)}}


current = State()
enabled = True
_lock = threading.Lock()


def configure(config) -> None:
    """The settings (TRIAGE_MODEL, TRIAGE_MIN_CORRECTIONS, TRIAGE_RETRAIN_AFTER), set once per process; the
    model starts untrained (the scheduler's first run trains it from the database)."""
    global current, enabled, MIN_CORRECTIONS, RETRAIN_AFTER
    current = State()
    enabled = bool(config.get("TRIAGE_MODEL", True))
    MIN_CORRECTIONS = int(config.get("TRIAGE_MIN_CORRECTIONS", MIN_CORRECTIONS))
    RETRAIN_AFTER = int(config.get("TRIAGE_RETRAIN_AFTER", RETRAIN_AFTER))


def features(text: str, cue_priority: str, cue_category: str | None) -> str:
    return f"{text}\n__cue_p_{cue_priority} __cue_c_{cue_category or 'none'}"


class Constant:
    """What a training set holding one label predicts (logistic regression needs two)."""

    def __init__(self, label):
        self.label = label

    def predict(self, texts):
        return [self.label] * len(texts)


def train(examples: list[Example]) -> dict[str, Verdict]:
    """A Verdict per target; fitted in the child process when a target has MIN_CORRECTIONS. Raises
    child.FitFailed."""
    counts = {t: sum(getattr(e, t) is not None for e in examples) for t in TARGETS}
    if max(counts.values()) < MIN_CORRECTIONS:  # only counts: no child needed
        return {t: Verdict(examples=n) for t, n in counts.items()}
    return child.run(FITTING, (examples, MIN_CORRECTIONS), FIT_TIMEOUT_SECONDS)


def examples_from(rows) -> list[Example]:
    return [Example(r.text, r.cue_priority, r.cue_category, r.corrected_priority, r.corrected_category)
            for r in rows]


def refresh(force: bool = False) -> State:
    """Retrain when corrections came in (RETRAIN_AFTER of them, or any within RETRAIN_EVERY_S); the
    scheduler calls this, and a process's first call always trains."""
    global current
    if not enabled:
        return current
    with session_scope() as s:
        count, last_at = s.execute(select(func.count(), func.max(TriageCorrection.created_at))
                                   .select_from(TriageCorrection)).one()
        state = current
        fresh = state.trained_at is None or force
        due = (count - state.corrections >= RETRAIN_AFTER or (last_at != state.last_at and state.trained_at is not None
               and (utcnow() - state.trained_at).total_seconds() >= RETRAIN_EVERY_S))
        if not (fresh or due):
            return state
        examples = examples_from(s.scalars(select(TriageCorrection).order_by(TriageCorrection.id)))
    with _lock:
        try:
            verdicts = train(examples)  # in a child process; the loop serves meanwhile
        except child.FitFailed as exc:
            log.error("triage model training failed corrections=%s %s fix=%r; the previous model stays, "
                      "retried on the next run", count, exc.cause, exc.fix)
            return current
        current = State(trained_at=utcnow(), corrections=count, last_at=last_at, verdicts=verdicts)
    if count >= MIN_CORRECTIONS:
        log.info("triage model trained corrections=%s %s", count, " ".join(
            f"{t}={'model' if v.in_charge else 'cues'} {t}_model_accuracy={_share(v.model_accuracy)} "
            f"{t}_cue_accuracy={_share(v.cue_accuracy)}" for t, v in verdicts.items()))
    return current


def _share(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"
