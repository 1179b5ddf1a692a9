"""The worker's numpy TF-IDF and linear decisions give scikit-learn's numbers, for every setting we use."""
import csv

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC

from handoff.knowledge import matcher
from handoff.ops.cli import SEED
from handoff.routing import triage_fit
from handoff.vectors import linear, text_classifier, tfidf
from handoff.vectors.sparse import Columns

with open(SEED / "faq_questions.csv", newline="", encoding="utf-8") as fh:
    KB = [row["question"] for row in csv.DictReader(fh)]
QUERIES = KB[::3] + [
    "", " ", "!!!", "?", "a", "I", "zzzz qqqq xyzzy", "password password password reset",
    "How do I RESET my Password??", "where's my   parcel\t\tnow", "café naïve résumé", "日本語のテキスト",
    "emoji 🙂 refund 🙂", "ünïcödé ßtraße", "under_score snake_case", "numbers 12 345 6789", "a-b c/d e.f",
    "refunds refunded refunding", "can't won't it's", "\n\nnew\nlines\n", "x" * 300,
]


def _rows(matrix) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def _dense(model: tfidf.Tfidf, text: str) -> np.ndarray:
    row = np.zeros(model.width)
    cols, vals = model.weigh(text)
    row[cols] = vals
    return row


VECTORIZERS = {
    "faq words": lambda dtype: TfidfVectorizer(analyzer=matcher._word_terms, sublinear_tf=True, dtype=dtype),
    "faq characters": lambda dtype: TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False,
                                                    sublinear_tf=True, dtype=dtype),
    "triage words": lambda dtype: TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, dtype=dtype),
    "triage characters": lambda dtype: TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                                       min_df=2, dtype=dtype),
}


@pytest.mark.parametrize("name", sorted(VECTORIZERS))
def test_weigh_gives_transforms_numbers(name):
    # The matcher's views read normalised text; triage's read it raw.
    texts = [matcher.normalize(t) for t in KB] if name.startswith("faq") else KB
    queries = [matcher.normalize(q) for q in QUERIES] if name.startswith("faq") else QUERIES
    for dtype, tolerance in ((np.float64, 1e-12), (np.float32, 1e-6)):
        vectorizer = VECTORIZERS[name](dtype).fit(texts)
        model = tfidf.from_fitted(vectorizer)
        expected = _rows(vectorizer.transform(queries))
        got = np.array([_dense(model, q) for q in queries])
        assert np.abs(got - expected).max() < tolerance, (name, dtype)


def test_a_setting_not_reproduced_is_refused_at_fit_time():
    with pytest.raises(ValueError):
        tfidf.from_fitted(TfidfVectorizer(sublinear_tf=False).fit(KB))
    with pytest.raises(ValueError):
        tfidf.from_fitted(TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(KB))
    with pytest.raises(ValueError):
        tfidf.from_fitted(TfidfVectorizer(sublinear_tf=True, analyzer="char").fit(KB))


@pytest.mark.parametrize("classes", [2, 5])
@pytest.mark.parametrize("make", [lambda: LogisticRegression(C=10.0, max_iter=2000),
                                  lambda: LinearSVC(C=0.1, random_state=0)], ids=["logistic", "svm"])
def test_the_linear_decision_is_scikit_learns(make, classes):
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(KB)
    labels = [f"label {i % classes}" for i in range(len(KB))]
    model = make().fit(vectorizer.transform(KB), labels)
    numpy_model, view = linear.from_fitted(model), tfidf.from_fitted(vectorizer)
    for query in QUERIES:
        expected = model.decision_function(vectorizer.transform([query]))[0]
        got = numpy_model.decision(*view.weigh(query))
        if classes == 2:  # one value, class 1 against class 0; the numpy model keeps both halves
            assert got[1] - got[0] == pytest.approx(expected, abs=1e-9)
        else:
            assert np.abs(got - expected).max() < 1e-9
        assert numpy_model.predict(*view.weigh(query)) == model.predict(vectorizer.transform([query]))[0]


def test_the_triage_pipeline_predicts_as_scikit_learns():
    labels = ["urgent" if "password" in t.lower() else "high" if "order" in t.lower() else "normal" for t in KB]
    pipeline = triage_fit._pipeline().fit(KB, labels)
    numpy_model = text_classifier.from_pipeline(pipeline)
    assert numpy_model.predict(QUERIES) == list(pipeline.predict(QUERIES))
    union = make_union(*(v for _, v in pipeline.steps[0][1].transformer_list))
    for query in QUERIES:
        expected = union.transform([query]).toarray()[0]
        cols, vals = numpy_model.row(query)
        got = np.zeros_like(expected)
        got[cols] = vals
        assert np.abs(got - expected).max() < 1e-12


def test_the_column_product_is_the_sparse_product():
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit(KB)
    matrix = vectorizer.transform(KB)
    columns, view = Columns.from_csc(matrix.tocsc()), tfidf.from_fitted(vectorizer)
    for query in QUERIES:
        cols, vals = view.weigh(query)
        dense = np.zeros(matrix.shape[1])
        dense[cols] = vals
        assert np.abs(columns.dot(cols, vals) - matrix @ dense).max() < 1e-12
    assert columns.dot([], []).dtype == np.float64
