"""A fitted scikit-learn text pipeline, make_pipeline(make_union(TfidfVectorizer, ...), linear classifier),
as numpy: each view's TF-IDF row side by side, then the linear decision (tfidf.py, linear.py)."""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from handoff.vectors import linear, tfidf


@dataclass(frozen=True)
class TextClassifier:
    views: tuple[tfidf.Tfidf, ...]
    model: linear.Linear

    def row(self, text: str) -> tuple[list[int], list[float]]:
        """The union's feature row: each view L2-normalised on its own, in columns after the previous one's."""
        cols, vals, offset = [], [], 0
        for view in self.views:
            view_cols, view_vals = view.weigh(text)
            cols += [c + offset for c in view_cols]
            vals += view_vals
            offset += view.width
        return cols, vals

    def predict(self, texts: list[str]) -> list[Hashable]:
        return [self.model.predict(*self.row(text)) for text in texts]


def from_pipeline(pipeline) -> TextClassifier:
    """From a fitted make_pipeline(make_union(*TfidfVectorizers), classifier) (read, not imported)."""
    union, classifier = (step for _, step in pipeline.steps)
    return TextClassifier(tuple(tfidf.from_fitted(v) for _, v in union.transformer_list),
                          linear.from_fitted(classifier))
