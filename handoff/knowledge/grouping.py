"""Grouping unanswered questions into suggested FAQs (learning.py), run as `python -m handoff.knowledge.grouping`
in a child process (handoff/vectors/child.py) so the worker never imports scikit-learn or scipy."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from handoff.knowledge.matcher import normalize
from handoff.vectors import child


def _words(text: str) -> list[str]:
    # Plurals folded ("gift cards" meets "gift card"); stop words dropped so "do you" groups nothing.
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in text.split() if w not in ENGLISH_STOP_WORDS]


def group_texts(request: tuple[list[str], list[str], float]) -> list[list[int]]:
    """(texts, background, threshold) -> indexes of texts in groups of similar questions, biggest first.

    Word weights (IDF) are learnt from `background` too (the FAQ phrasings): fitted on a handful of
    questions alone, the words they share ("gift card") would weigh least, and two questions never group.
    """
    texts, background, threshold = request
    cleaned = [normalize(t) or t.lower() for t in texts]
    corpus = cleaned + [c for c in (normalize(t) for t in background) if c]
    views = []
    # Words carry the meaning, character n-grams absorb typos and inflections (as in the FAQ matcher).
    for vectorizer in (TfidfVectorizer(analyzer=_words, sublinear_tf=True),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)):
        try:
            vectorizer.fit(corpus)
        except ValueError:  # nothing but stop words
            continue
        views.append(vectorizer.transform(cleaned) * np.sqrt(0.5))
    if not views:
        return [list(range(len(texts)))]
    matrix = sp.hstack(views, format="csr")
    similarity = (matrix @ matrix.T).toarray()
    norms = np.sqrt(np.clip(np.diag(similarity), 1e-12, None))
    similarity = similarity / norms[:, None] / norms[None, :]
    distance = np.clip(1.0 - similarity, 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                     distance_threshold=1.0 - threshold).fit_predict(distance)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


if __name__ == "__main__":
    child.serve(group_texts)
