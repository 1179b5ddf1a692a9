"""Measure the FAQ matcher on a knowledge base and a set of questions, both from CSV files.

The matcher is built straight from the KB file, so an evaluation never opens the service's database.
The CLI (`careregistry faq-eval`) and the benchmark call `run()`; an admin page can call
`evaluate()` with its own matcher.

What counts: a covered question is *answered right* when the decision is "answer" with its FAQ, and
*answered wrong* when it is "answer" with another FAQ. A question the matcher does not answer ("choose"
or "unknown") is *flagged out of scope*: that is what out-of-scope precision and recall measure, since
either way the customer gets no answer and the bot can hand over. `oos_recall_unknown_only` counts
only "unknown". `right_within_one_click_rate` also counts a covered question whose FAQ was among the
offered choices; it is reported beside the targets, never instead of them.
"""
from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handoff.errors import ServiceError
from handoff.knowledge.calibration import RISK_LEVELS
from handoff.knowledge.matcher import FaqMatcher, Match


@dataclass(frozen=True)
class Query:
    text: str
    answer_id: str | None  # None: the knowledge base does not cover this question


def read_kb(path: str | Path) -> list[tuple[str, str]]:
    """`question,answer_id` rows as (answer_id, question) pairs, ready for FaqMatcher.fit()."""
    rows = _read(path, ("question", "answer_id"))
    problems = [f"{Path(path).name} line {line}: question and answer_id are both required"
                for line, row in rows if not row["question"] or not row["answer_id"]]
    if problems:
        raise ServiceError("\n".join(problems))
    if not rows:
        raise ServiceError(f"{Path(path).name}: no questions.")
    return [(row["answer_id"], row["question"]) for _, row in rows]


def read_queries(path: str | Path) -> list[Query]:
    """`text,answer_id` rows; an empty answer_id marks a question the knowledge base does not cover."""
    rows = _read(path, ("text", "answer_id"))
    problems = [f"{Path(path).name} line {line}: text is required" for line, row in rows if not row["text"]]
    if problems:
        raise ServiceError("\n".join(problems))
    if not rows:
        raise ServiceError(f"{Path(path).name}: no queries.")
    return [Query(row["text"], row["answer_id"] or None) for _, row in rows]


def _read(path: str | Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ServiceError(f"{path.name}: missing column(s) {', '.join(missing)}; "
                                   f"expected {','.join(columns)}.")
            rows = []
            for row in reader:
                if None in row:  # more fields than the header names
                    raise ServiceError(f"{path.name} line {reader.line_num}: more fields than the header has.")
                rows.append((reader.line_num, {c: (row[c] or "").strip() for c in columns}))
            return rows
    except OSError as err:
        raise ServiceError(f"Cannot read {path}: {err.strerror}.") from err
    except UnicodeDecodeError as err:
        raise ServiceError(f"{path.name} is not UTF-8 text.") from err
    except csv.Error as err:
        raise ServiceError(f"{path.name}: {err}.") from err


def search_all(matcher: FaqMatcher, queries: Sequence[Query], limit: int = 3) -> tuple[list[list[Match]], list[float]]:
    """Every query's matches, and how long each search took in seconds."""
    results, seconds = [], []
    for query in queries:
        start = time.perf_counter()
        matches = matcher.search(query.text, limit=limit)
        matcher.decide(matches)
        seconds.append(time.perf_counter() - start)
        results.append(matches)
    return results, seconds


def score(matcher: FaqMatcher, queries: Sequence[Query], results: Sequence[list[Match]],
          risk: int | None = None) -> dict:
    """Counts and rates of matcher.decide() over already-searched queries (at `risk`, when calibrated)."""
    right = wrong = covered_choice = choice_has_it = covered_unknown = 0
    oos_answered = oos_choice = oos_unknown = 0
    for query, matches in zip(queries, results):
        decision = matcher.decide(matches, risk=risk)
        if query.answer_id is None:
            oos_answered += decision == "answer"
            oos_choice += decision == "choose"
            oos_unknown += decision == "unknown"
        elif decision == "answer":
            if str(matches[0].faq_id) == query.answer_id:
                right += 1
            else:
                wrong += 1
        else:
            covered_choice += decision == "choose"
            choice_has_it += decision == "choose" and any(str(m.faq_id) == query.answer_id for m in matches)
            covered_unknown += decision == "unknown"
    covered = right + wrong + covered_choice + covered_unknown
    oos = oos_answered + oos_choice + oos_unknown
    flagged_oos = oos_choice + oos_unknown
    flagged_all = flagged_oos + covered_choice + covered_unknown
    return {
        "queries": covered + oos,
        "covered": covered,
        "out_of_scope": oos,
        "answered_right": right,
        "answered_wrong": wrong,
        "covered_offered_choice": covered_choice,
        "covered_choice_includes_right": choice_has_it,
        "covered_unknown": covered_unknown,
        "oos_answered": oos_answered,
        "oos_offered_choice": oos_choice,
        "oos_unknown": oos_unknown,
        "answered_right_rate": _rate(right, covered),
        # answered right, or offered as one of the choices (the customer gets there with one click)
        "right_within_one_click_rate": _rate(right + choice_has_it, covered),
        "wrong_answer_rate": _rate(wrong + oos_answered, covered + oos),
        "covered_wrong_answer_rate": _rate(wrong, covered),
        "oos_precision": _rate(flagged_oos, flagged_all),
        "oos_recall": _rate(flagged_oos, oos),
        "oos_recall_unknown_only": _rate(oos_unknown, oos),
        "oos_answered_rate": _rate(oos_answered, oos),
    }


def thresholds_in_use(matcher: FaqMatcher, risk: int | None = None) -> dict:
    """What decide() goes by at `risk`: a calibrated matcher's thresholds on its confidence (P(the best
    FAQ is right)) and coverage (P(the right FAQ is among the choices)), else the fixed score thresholds."""
    calibration = matcher.calibration
    if calibration is None:
        return {"calibrated": False, "answer": matcher.answer_threshold, "choose": matcher.choose_threshold,
                "margin": matcher.margin}
    level = calibration.level(risk or matcher.risk)
    return {"calibrated": True, "risk": level.one_in, "answer": round(min(level.answer, 1.0), 4),
            "choose": round(min(level.choose, 1.0), 4)}


def evaluate(matcher: FaqMatcher, queries: Sequence[Query], risks: Sequence[int] = (),
             risk: int | None = None) -> dict:
    """The report for one fitted matcher: score() at `risk` (the matcher's own when None) plus
    per-query latency of search + decide, and the thresholds it was decided with. A calibrated
    matcher's report also scores the same searches with the fixed thresholds ("fixed") and at each of
    `risks` ("by_risk")."""
    results, seconds = search_all(matcher, queries)
    report = score(matcher, queries, results, risk=risk)
    report["decided_with"] = thresholds_in_use(matcher, risk)
    if matcher.calibration is not None:
        report["fixed"] = score(matcher.fixed(), queries, results)
        report["by_risk"] = {str(r): score(matcher, queries, results, risk=r) for r in risks}
    millis = np.array(seconds) * 1000
    report["latency_ms"] = {"p50": round(float(np.percentile(millis, 50)), 3),
                            "p99": round(float(np.percentile(millis, 99)), 3),
                            "max": round(float(millis.max()), 3)}
    return report


def tune(matcher: FaqMatcher, queries: Sequence[Query], min_oos_recall: float = 0.80) -> dict:
    """Pick answer threshold and margin on these queries: the most right answers among the settings
    that flag at least `min_oos_recall` of the out-of-scope ones (the best recall when none does).

    Sets them on the matcher and returns them with the tuning set's score.
    """
    results, _ = search_all(matcher, queries)
    # Top scores rounded to 0.01: fine enough, and keeps the grid to a few hundred settings.
    candidates = np.unique(np.r_[[round(m[0].score, 2) for m in results if m], 1.0])
    best_key, best = None, None
    saved = matcher.answer_threshold, matcher.choose_threshold, matcher.margin
    for margin in (0.0, 0.05, 0.1, 0.2, 0.3):
        for threshold in candidates:
            matcher.answer_threshold, matcher.margin = float(threshold), margin
            matcher.choose_threshold = min(saved[1], matcher.answer_threshold)
            s = score(matcher, queries, results)
            recall = s["oos_recall"] if s["out_of_scope"] else 1.0
            ok = recall >= min_oos_recall
            key = (ok, s["answered_right_rate"] if ok else recall, -s["wrong_answer_rate"])
            if best_key is None or key > best_key:
                best_key, best = key, (float(threshold), margin, s)
    matcher.answer_threshold, matcher.margin = best[0], best[1]
    matcher.choose_threshold = min(saved[1], best[0])
    return {"answer_threshold": best[0], "choose_threshold": matcher.choose_threshold, "margin": best[1],
            "tuning_score": best[2]}


def run(kb_path: str | Path, queries_path: str | Path, *, answer_threshold: float | None = None,
        choose_threshold: float | None = None, margin: float | None = None,
        tune_path: str | Path | None = None, embeddings: bool | None = None, calibrate: bool = False,
        risk: int | None = None) -> dict:
    """Fit a fresh matcher on the KB file, optionally tune on another query file or calibrate it on the
    KB itself (at `risk`), then score the queries."""
    kb = read_kb(kb_path)
    queries = read_queries(queries_path)
    tuning = read_queries(tune_path) if tune_path else None
    matcher = FaqMatcher(answer_threshold, choose_threshold, margin, embeddings=embeddings)
    start = time.perf_counter()
    matcher.fit(kb)
    fit_seconds = time.perf_counter() - start
    report: dict = {
        "kb": {"faqs": len({faq_id for faq_id, _ in kb}), "phrasings": len(kb),
               "fit_seconds": round(fit_seconds, 2)},
        "scoring": "embeddings" if matcher.embeddings else "tfidf",
        # how the sentence model ran: int8 (ONNX Runtime), float (ONNX Runtime) or numpy
        "encoder": matcher.encoder_runtime,
    }
    if tuning is not None:
        report["tuned"] = tune(matcher, tuning)
    elif calibrate:
        start = time.perf_counter()
        calibration = matcher.calibrate()
        report["kb"]["calibrate_seconds"] = round(time.perf_counter() - start, 2)
        if calibration is not None:
            matcher.risk = risk or matcher.risk
            report["calibration"] = {str(k): vars(v) for k, v in calibration.levels.items()}
            report["calibration"]["confused"] = [[str(a), str(b), n] for a, b, n in calibration.confused]
    report["thresholds"] = {"answer": matcher.answer_threshold, "choose": matcher.choose_threshold,
                            "margin": matcher.margin}
    report.update(evaluate(matcher, queries, risks=RISK_LEVELS))
    return report


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
