"""The triage model's fitting and cross-validation, run as `python -m handoff.routing.triage_fit` in a child
process (handoff/vectors/child.py) so the worker never imports scikit-learn or scipy. It hands back
triage_model.Verdicts whose models are numpy (vectors/text_classifier.py); the held-out folds are
predicted by the same numpy models, as the worker will predict."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline, make_union

from handoff.routing import triage_model
from handoff.routing.triage_model import FOLDS, TARGETS, Constant, Example, Verdict, features
from handoff.vectors import child, text_classifier


def _pipeline():
    return make_pipeline(
        make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        LogisticRegression(C=10.0, max_iter=2000))


def fit_model(xs: list[str], ys: list[str]) -> text_classifier.TextClassifier | Constant:
    if len(set(ys)) < 2:  # logistic regression needs two labels
        return Constant(ys[0])
    return text_classifier.from_pipeline(_pipeline().fit(xs, ys))


def evaluate(examples: list[Example], target: str, minimum: int | None = None, folds: int = FOLDS) -> Verdict:
    """Cross-validate the model on `examples` for one target and compare it with the cues, item by item.
    `minimum`: the corrections it needs (the worker's setting; default triage_model.MIN_CORRECTIONS)."""
    rows = [e for e in examples if getattr(e, target) is not None]
    verdict = Verdict(examples=len(rows))
    if len(rows) < (triage_model.MIN_CORRECTIONS if minimum is None else minimum):
        return verdict
    xs = [features(e.text, e.cue_priority, e.cue_category) for e in rows]
    ys = [getattr(e, target) for e in rows]
    cues = [e.cue_priority if target == "priority" else e.cue_category for e in rows]
    right = 0
    for train, test in KFold(n_splits=min(folds, len(rows)), shuffle=True, random_state=0).split(xs):
        model = fit_model([xs[i] for i in train], [ys[i] for i in train])
        predicted = model.predict([xs[i] for i in test])
        right += int(np.sum(np.asarray(predicted) == np.asarray([ys[i] for i in test])))
    verdict.model_accuracy = right / len(rows)
    verdict.cue_accuracy = sum(c == y for c, y in zip(cues, ys)) / len(rows)
    verdict.in_charge = verdict.model_accuracy > verdict.cue_accuracy
    if verdict.in_charge:
        verdict.model = fit_model(xs, ys)
    return verdict


def train(request: tuple[list[Example], int]) -> dict[str, Verdict]:
    """(examples, minimum corrections) -> a Verdict per target."""
    examples, minimum = request
    return {target: evaluate(examples, target, minimum) for target in TARGETS}


if __name__ == "__main__":
    child.serve(train)
