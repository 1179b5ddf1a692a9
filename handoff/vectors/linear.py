"""A linear classifier's decision in numpy: scikit-learn's LogisticRegression and LinearSVC
decision_function and predict over a sparse row, from weights fitted in the child (child.py)."""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Linear:
    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)
    classes: tuple[Hashable, ...]

    def decision(self, cols: list[int], vals: list[float]) -> np.ndarray:
        """(classes,): the decision values of the row whose only non-zero entries are vals at cols."""
        return np.asarray(vals, dtype=self.weights.dtype) @ self.weights[cols] + self.bias

    def predict(self, cols: list[int], vals: list[float]) -> Hashable:
        return self.classes[int(np.argmax(self.decision(cols, vals)))]


def from_fitted(model, dtype=np.float64) -> Linear:
    """The weights of a fitted scikit-learn linear classifier (read, not imported). A binary one keeps a
    single row, class 1 against class 0; it becomes two columns, -w/2 and +w/2, so one argmax serves
    both: halving is exact, and a decision of 0 picks class 0 as scikit-learn's `> 0` does."""
    weights = np.asarray(model.coef_, dtype=np.float64).T
    bias = np.asarray(model.intercept_, dtype=np.float64)
    if weights.shape[1] == 1 and len(model.classes_) == 2:
        weights = np.hstack([-weights / 2, weights / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    return Linear(np.ascontiguousarray(weights, dtype=dtype), bias.astype(dtype),
                  tuple(c.item() if hasattr(c, "item") else c for c in model.classes_))
