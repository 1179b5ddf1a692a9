import json

import pytest
from click.testing import CliRunner

from handoff.errors import ServiceError
from handoff.knowledge import evaluation
from handoff.knowledge.evaluation import Query
from handoff.knowledge.matcher import FaqMatcher, Match
from handoff.ops.cli import main

KB = [
    ("How do I reset my password?", "reset-password"),
    ("forgot my password", "reset-password"),
    ("password reset link not working", "reset-password"),
    ("Where is my order?", "order-tracking"),
    ("how do I track my package", "order-tracking"),
    ("has my order shipped yet", "order-tracking"),
    ("What is your return policy?", "return-policy"),
    ("how many days do I have to return an item", "return-policy"),
    ("can I return something I opened", "return-policy"),
]


def _write(path, header, rows):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


class CannedMatcher(FaqMatcher):
    """Returns fixed matches per question, so every decision of a test is known in advance."""

    def __init__(self, canned, **thresholds):
        super().__init__(embeddings=False, **thresholds)
        self.canned = canned

    def search(self, text, limit=3):
        return self.canned[text][:limit]


def _m(faq_id, score):
    return Match(faq_id, f"phrasing of {faq_id}", score)


# answer threshold 0.5, choose 0.3, margin 0 (runner-ups are far below anyway)
CANNED = {
    "right 1": [_m("a", 0.9), _m("b", 0.1)],
    "right 2": [_m("b", 0.7), _m("a", 0.1)],
    "wrong": [_m("a", 0.8), _m("b", 0.2)],      # asked for b, answered a
    "choice": [_m("b", 0.4), _m("a", 0.35)],    # asked for b: choose
    "unknown": [_m("a", 0.1)],                  # asked for a: unknown
    "oos answered": [_m("a", 0.6), _m("b", 0.1)],
    "oos choice": [_m("b", 0.35)],
    "oos unknown 1": [],
    "oos unknown 2": [_m("a", 0.2)],
}
QUERIES = [Query("right 1", "a"), Query("right 2", "b"), Query("wrong", "b"), Query("choice", "b"),
           Query("unknown", "a"), Query("oos answered", None), Query("oos choice", None),
           Query("oos unknown 1", None), Query("oos unknown 2", None)]


def test_score_counts_each_outcome():
    matcher = CannedMatcher(CANNED, answer_threshold=0.5, choose_threshold=0.3, margin=0.0)
    results, _ = evaluation.search_all(matcher, QUERIES)
    report = evaluation.score(matcher, QUERIES, results)
    assert report["covered"] == 5 and report["out_of_scope"] == 4 and report["queries"] == 9
    assert (report["answered_right"], report["answered_wrong"]) == (2, 1)
    assert (report["covered_offered_choice"], report["covered_unknown"]) == (1, 1)
    assert (report["oos_answered"], report["oos_offered_choice"], report["oos_unknown"]) == (1, 1, 2)
    assert report["answered_right_rate"] == 0.4
    assert report["wrong_answer_rate"] == round(2 / 9, 4)  # "wrong" and "oos answered"
    assert report["covered_wrong_answer_rate"] == 0.2
    # Not answered: 3 out-of-scope + 2 covered, so precision 3/5; recall 3 of 4 out-of-scope.
    assert report["oos_precision"] == 0.6
    assert report["oos_recall"] == 0.75
    assert report["oos_recall_unknown_only"] == 0.5


def test_evaluate_reports_latency_per_query():
    matcher = CannedMatcher(CANNED, answer_threshold=0.5, choose_threshold=0.3, margin=0.0)
    report = evaluation.evaluate(matcher, QUERIES)
    latency = report["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"]


def test_an_uncalibrated_matcher_says_it_decided_with_its_fixed_thresholds():
    matcher = CannedMatcher(CANNED, answer_threshold=0.5, choose_threshold=0.3, margin=0.0)
    report = evaluation.evaluate(matcher, QUERIES, risk=100)
    assert report["decided_with"] == {"calibrated": False, "answer": 0.5, "choose": 0.3, "margin": 0.0}
    assert report["answered_right"] == 2  # the risk setting means nothing without a calibration


def test_tune_picks_the_lowest_threshold_that_reaches_the_recall_goal():
    matcher = CannedMatcher(CANNED, answer_threshold=0.5, choose_threshold=0.3, margin=0.0)
    tuned = evaluation.tune(matcher, QUERIES, min_oos_recall=1.0)
    # Every out-of-scope question must go unanswered: the threshold has to clear "oos answered"
    # (0.6), and the lowest top score above it is 0.7, which keeps "right 2" and "wrong" answered.
    assert tuned["answer_threshold"] == 0.7
    assert matcher.answer_threshold == 0.7
    assert tuned["tuning_score"]["oos_recall"] == 1.0
    assert tuned["tuning_score"]["answered_right"] == 2


@pytest.mark.parametrize("embeddings", [False, None], ids=["tfidf", "default"])
def test_run_scores_a_small_knowledge_base(tmp_path, embeddings):
    kb = _write(tmp_path / "kb.csv", ["question", "answer_id"], KB)
    queries = _write(tmp_path / "queries.csv", ["text", "answer_id"], [
        ("How do I reset my password?", "reset-password"),
        ("Where is my order?", "order-tracking"),
        ("What is your return policy?", "return-policy"),
        ("zebra quantum volcano", ""),
    ])
    report = evaluation.run(kb, queries, embeddings=embeddings)
    assert report["kb"] == {"faqs": 3, "phrasings": 9, "fit_seconds": report["kb"]["fit_seconds"]}
    # Stored phrasings asked verbatim are answered with their own FAQ; nonsense is not answered.
    assert report["answered_right"] == 3 and report["answered_right_rate"] == 1.0
    assert report["oos_answered"] == 0 and report["oos_recall"] == 1.0
    assert report["wrong_answer_rate"] == 0.0
    # the report says how the sentence model ran, so numbers from two machines can be compared
    assert report["encoder"] == (None if embeddings is False else FaqMatcher().encoder_runtime)


def test_cli_prints_a_json_report(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'must-not-exist' / 'x.db'}")
    kb = _write(tmp_path / "kb.csv", ["question", "answer_id"], KB)
    queries = _write(tmp_path / "queries.csv", ["text", "answer_id"],
                     [("forgot my password", "reset-password"), ("tell me a joke", "")])
    result = CliRunner().invoke(main, ["faq-eval", "--kb", str(kb), "--queries", str(queries),
                                       "--tfidf-only", "--answer-threshold", "0.3", "--margin", "0.1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["scoring"] == "tfidf" and report["encoder"] is None
    assert report["thresholds"]["answer"] == 0.3 and report["thresholds"]["margin"] == 0.1
    assert (report["covered"], report["out_of_scope"]) == (1, 1)
    assert report["answered_right"] == 1 and report["oos_recall"] == 1.0
    assert not (tmp_path / "must-not-exist").exists()


@pytest.mark.parametrize("header, rows, expected", [
    (["question", "answer_id"], [("ok", "a"), ("", "a")], "kb.csv line 3"),
    (["question", "answer_id"], [("ok", "a"), ("fine", "")], "kb.csv line 3"),
    (["question", "answer_id"], [("ok", "a", "extra")], "kb.csv line 2"),
    (["question", "faq"], [("ok", "a")], "missing column(s) answer_id"),
    (["question", "answer_id"], [], "no questions"),
])
def test_bad_kb_csv_names_the_problem(tmp_path, header, rows, expected):
    kb = _write(tmp_path / "kb.csv", header, rows)
    with pytest.raises(ServiceError) as err:
        evaluation.read_kb(kb)
    assert expected in err.value.message


def test_bad_queries_csv_fails_the_cli_with_the_line(tmp_path):
    kb = _write(tmp_path / "kb.csv", ["question", "answer_id"], KB)
    queries = _write(tmp_path / "queries.csv", ["text", "answer_id"],
                     [("forgot my password", "reset-password"), ("", "order-tracking")])
    result = CliRunner().invoke(main, ["faq-eval", "--kb", str(kb), "--queries", str(queries), "--tfidf-only"])
    assert result.exit_code == 1
    assert "queries.csv line 3: text is required" in result.output
