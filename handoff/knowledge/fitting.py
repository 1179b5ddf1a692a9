"""The FAQ index's fitting and calibration, run as `python -m handoff.knowledge.fitting` in a child process
(handoff/vectors/child.py) so the worker never imports scikit-learn or scipy.

It gets a matcher.FitRequest and hands back a matcher._Index, or a calibration.Calibration, made only of
numpy arrays and numpy-only classes. The TF-IDF vectorizers, the SVM, the sentence model's classifier
and the calibration's regressions are fitted here; the calibration's held-out questions are searched
with matcher.rank, the worker's own search, so its features mean what they mean at query time.
"""
from __future__ import annotations

import warnings
from collections.abc import Hashable

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from handoff.knowledge import calibration, matcher
from handoff.knowledge.matcher import (CLASSIFIER_C, EMBEDDING_C_PER_PHRASING, EMBEDDING_MAX_ITER,
                                       EMBEDDING_WARM_MAX_ITER, SPREAD_PRIOR, WORD_WEIGHT, FitRequest, _Index,
                                       _Semantic, _View)
from handoff.vectors import child, linear, tfidf
from handoff.vectors.sparse import Columns


def fit(request: FitRequest) -> _Index | calibration.Calibration | None:
    # One BLAS thread, as in the worker (sentence_encoder.shared_encoder): the child must not take the
    # core that serves sockets, and the fits come out as they did in-process.
    with threadpool_limits(1, user_api="blas"):
        if request.folds:
            return _calibrate(request)
        return build(request.groups, request.layers, request.previous)


def build(groups: dict[Hashable, list[tuple[str, str]]], layers: np.ndarray | None,
          previous: tuple[tuple, _Semantic] | None = None) -> _Index:
    """The index of these phrasings: TF-IDF and its SVM without `layers`, else the sentence model's
    (which needs no TF-IDF: its search never reads it)."""
    originals, starts = [], []
    for rows in groups.values():
        starts.append(len(originals))
        originals += [original for original, _ in rows]
    starts_arr = np.array(starts)
    ends = np.append(starts_arr[1:], len(originals))
    if layers is None:
        return _tfidf_index(groups, tuple(originals), starts_arr, ends)
    index = _Index((), None, tuple(originals), tuple(groups), starts_arr, ends, None)
    return _with_semantic(index, layers, previous)


def _tfidf_index(groups, originals: tuple[str, ...], starts: np.ndarray, ends: np.ndarray) -> _Index:
    cleaned = [clean for rows in groups.values() for _, clean in rows]
    specs = [
        (TfidfVectorizer(analyzer=matcher._word_terms, sublinear_tf=True, dtype=np.float32), WORD_WEIGHT),
        (TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False, sublinear_tf=True,
                         dtype=np.float32), 1 - WORD_WEIGHT),
    ]
    docs = [" ".join(cleaned[a:b]) for a, b in zip(starts, ends)]
    views, rows, centroids = [], [], []
    offset = 0
    for vectorizer, weight in specs:
        try:
            matrix = vectorizer.fit_transform(cleaned)  # sublinear tf * idf, rows L2-normalised
        except ValueError:  # empty vocabulary, e.g. every phrasing is only stop words
            continue
        scale = float(np.sqrt(weight))
        views.append(_View(tfidf.from_fitted(vectorizer), scale, offset, float(vectorizer.idf_.max())))
        rows.append(matrix * np.float32(scale))
        centroids.append(vectorizer.transform(docs) * np.float32(scale))
        offset += matrix.shape[1]
    matrix = sp.hstack(rows, format="csr")
    return _Index(tuple(views), Columns.from_csc(matrix.tocsc()), originals, tuple(groups), starts, ends,
                  Columns.from_csc(sp.hstack(centroids, format="csc")),
                  classifier=_train_classifier(matrix, ends - starts))


def _train_classifier(matrix: sp.csr_matrix, sizes: np.ndarray) -> linear.Linear | None:
    """One-vs-rest linear SVM over the index rows, one class per FAQ (float32 weights, as matcher reads them)."""
    if len(sizes) < 2:  # one FAQ: nothing to tell apart, similarity decides alone
        return None
    labels = np.repeat(np.arange(len(sizes)), sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a not quite converged SVM still ranks well
        model = LinearSVC(C=CLASSIFIER_C, random_state=0).fit(matrix, labels)
    return linear.from_fitted(model, dtype=np.float32)


def _regularisation(sizes: np.ndarray) -> float:
    """The classifier's C, in proportion to the phrasings per FAQ: scikit-learn sums the loss over the
    phrasings, so a fixed C would make a KB of 3 phrasings an FAQ timid and one of 100 overconfident."""
    return float(np.clip(EMBEDDING_C_PER_PHRASING * sizes.mean(), 0.1, 100.0))


def _with_semantic(index: _Index, layers: np.ndarray, previous: tuple[tuple, _Semantic] | None) -> _Index:
    vectors = np.ascontiguousarray(layers[:, -1])
    sizes = index.group_ends - index.group_starts
    neighbours = np.full((len(sizes), int(sizes.max())), -1, dtype=np.int64)
    centroids = np.zeros((len(sizes), vectors.shape[1]), dtype=np.float32)
    for group, (start, end) in enumerate(zip(index.group_starts, index.group_ends)):
        neighbours[group, : end - start] = np.arange(start, end)
        centroid = vectors[start:end].sum(axis=0)
        centroids[group] = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    dense = np.zeros((0, 0), dtype=np.float32)
    bias = np.zeros(0, dtype=np.float32)
    if len(sizes) > 1:
        features = matcher._dense_features(layers)
        labels = np.repeat(np.arange(len(sizes)), sizes)
        start = _starting_weights(previous, index, features.shape[1])
        model = LogisticRegression(C=_regularisation(sizes), class_weight="balanced", warm_start=start is not None,
                                   max_iter=EMBEDDING_MAX_ITER if start is None else EMBEDDING_WARM_MAX_ITER)
        if start is not None:
            model.coef_, model.intercept_ = start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(features, labels)
        fitted = linear.from_fitted(model, dtype=np.float32)
        dense, bias = fitted.weights, fitted.bias
    starts, ends = index.group_starts, index.group_ends
    if dense.size:
        # One FAQ's column at a time: the whole (phrasings, FAQs) product would be FAQs times the work.
        own = np.concatenate([features[a:b] @ dense[:, g] + bias[g] for g, (a, b) in enumerate(zip(starts, ends))])
        own_logit = _own_spread(own, starts, ends)
    else:
        own_logit = np.tile(np.array([0.0, 1.0], dtype=np.float32), (len(sizes), 1))
    return _Index(index.views, index.matrix, index.phrasings, index.faq_ids, index.group_starts,
                  index.group_ends, index.centroids,
                  _Semantic(vectors, centroids, neighbours, dense, bias, own_logit))


def _starting_weights(previous: tuple[tuple, _Semantic] | None, index: _Index,
                      dense: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The previous classifier's weights laid out for this index, (FAQs, features) and (FAQs,), or
    None when there is nothing to start from. FAQs both indexes know keep their weights; new ones
    start at zero."""
    if previous is None:
        return None
    old_ids, sem = previous
    if sem.dense_weights.shape[0] != dense or len(old_ids) < 3 or len(index.faq_ids) < 3:
        return None  # binary and one-FAQ classifiers are stored differently; they fit in no time anyway
    old_class = {faq_id: n for n, faq_id in enumerate(old_ids)}
    new_cols = [n for n, faq_id in enumerate(index.faq_ids) if faq_id in old_class]
    if not new_cols:
        return None
    old_cols = [old_class[index.faq_ids[n]] for n in new_cols]
    weights = np.zeros((dense, len(index.faq_ids)), dtype=np.float64)
    weights[:, new_cols] = sem.dense_weights[:, old_cols]
    bias = np.zeros(len(index.faq_ids), dtype=np.float64)
    bias[new_cols] = sem.bias[old_cols]
    return weights.T.copy(), bias


def _own_spread(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(groups, 2): each group's mean and spread of `values`. The spread is shrunk towards the pooled
    one by SPREAD_PRIOR phrasings' worth, so an FAQ of one or two phrasings gets no spread of ~0."""
    sizes = (ends - starts).astype(np.float64)
    values = values.astype(np.float64)
    mean = np.add.reduceat(values, starts) / sizes
    squares = np.add.reduceat(values ** 2, starts) / sizes
    var = np.maximum(squares - mean ** 2, 0.0)
    pooled = float(np.average(var, weights=sizes))
    spread = np.sqrt((sizes * var + SPREAD_PRIOR * pooled) / (sizes + SPREAD_PRIOR))
    return np.stack([mean, np.maximum(spread, 1e-3)], axis=1).astype(np.float32)


def _calibrate(request: FitRequest) -> calibration.Calibration | None:
    """The thresholds of the KB in request.groups, from its own phrasings (calibration.py). The folds'
    phrasings get the sentence model's outputs the worker computed for the whole KB."""
    originals = [original for rows in request.groups.values() for original, _ in rows]
    layers_of = dict(zip(originals, request.layers)) if request.layers is not None else None

    def fit_fold(pairs):
        groups = matcher.group_phrasings(pairs)
        layers = None
        if layers_of is not None:
            layers = np.stack([layers_of[original] for rows in groups.values() for original, _ in rows])
        index = build(groups, layers)
        return lambda text: matcher.rank(index, text, 3, layers_of.__getitem__ if layers_of else None)

    groups = [(faq_id, [original for original, _ in rows]) for faq_id, rows in request.groups.items()]
    outcomes, unmatched = calibration.held_out_searches(groups, fit_fold, folds=request.folds)
    return calibration.calibrate(outcomes, unmatched=unmatched)


if __name__ == "__main__":
    child.serve(fit)
