"""The organisation's own triage model, learned from its agents' corrections, and when it is in charge.

Per target (priority, category): TF-IDF over word and character n-grams, then logistic regression. The
cues' own verdict is one of its features (a token like `__cue_p_high`), so it learns where the cues go
wrong rather than starting from nothing. It takes over a target only when, cross-validated on the
corrections (each held-out fold predicted by a model that never saw it), it is right more often than the
cues were on the same items, and only from MIN_CORRECTIONS on: below that an accuracy is noise.

Every serving process trains its own from the database, at start and when corrections come in (the
scheduler's job, the fit off the loop): nothing is pickled, so nothing is ever unpickled.
scikit-learn is imported only when there is enough to train on.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from handoff.db import session_scope
from handoff.models import TriageCorrection, utcnow
from handoff.realtime import off_the_loop

log = logging.getLogger("careregistry.routing")
TARGETS = ("priority", "category")
MIN_CORRECTIONS = 30
FOLDS = 5
RETRAIN_AFTER = 20  # new corrections that make the next check retrain at once (else hourly)
RETRAIN_EVERY_S = 3600


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
    pipeline: object = None


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
            if verdict.in_charge and verdict.pipeline is not None:
                label = verdict.pipeline.predict([features(text, cue_priority, cue_category)])[0]
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


def _pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.feature_extraction.text import TfidfVectorizer

    return make_pipeline(
        make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        LogisticRegression(C=10.0, max_iter=2000))


class _Constant:
    """What a fold whose training part holds one label predicts (logistic regression needs two)."""

    def __init__(self, label):
        self.label = label

    def predict(self, texts):
        return [self.label] * len(texts)


def _fit(xs: list[str], ys: list[str]):
    if len(set(ys)) < 2:
        return _Constant(ys[0])
    return _pipeline().fit(xs, ys)


def evaluate(examples: list[Example], target: str, folds: int = FOLDS, minimum: int | None = None) -> Verdict:
    """Cross-validate the model on `examples` for one target and compare it with the cues, item by item."""
    rows = [e for e in examples if getattr(e, target) is not None]
    verdict = Verdict(examples=len(rows))
    if len(rows) < (MIN_CORRECTIONS if minimum is None else minimum):
        return verdict
    import numpy as np
    from sklearn.model_selection import KFold

    xs = [features(e.text, e.cue_priority, e.cue_category) for e in rows]
    ys = [getattr(e, target) for e in rows]
    cues = [e.cue_priority if target == "priority" else e.cue_category for e in rows]
    right = 0
    for train, test in KFold(n_splits=min(folds, len(rows)), shuffle=True, random_state=0).split(xs):
        model = _fit([xs[i] for i in train], [ys[i] for i in train])
        predicted = model.predict([xs[i] for i in test])
        right += int(np.sum(np.asarray(predicted) == np.asarray([ys[i] for i in test])))
    verdict.model_accuracy = right / len(rows)
    verdict.cue_accuracy = sum(c == y for c, y in zip(cues, ys)) / len(rows)
    verdict.in_charge = verdict.model_accuracy > verdict.cue_accuracy
    if verdict.in_charge:
        verdict.pipeline = _fit(xs, ys)
    return verdict


def train(examples: list[Example]) -> dict[str, Verdict]:
    return {target: evaluate(examples, target) for target in TARGETS}


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
        verdicts = off_the_loop(train, examples)  # below MIN_CORRECTIONS only counts (no scikit-learn)
        current = State(trained_at=utcnow(), corrections=count, last_at=last_at, verdicts=verdicts)
    if count >= MIN_CORRECTIONS:
        log.info("triage model trained corrections=%s %s", count, " ".join(
            f"{t}={'model' if v.in_charge else 'cues'} {t}_model_accuracy={_share(v.model_accuracy)} "
            f"{t}_cue_accuracy={_share(v.cue_accuracy)}" for t, v in verdicts.items()))
    return current


def _share(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"
