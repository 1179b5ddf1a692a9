"""`python -m bench.faq_eval`: the FAQ matcher on CLINC150 against the targets of the FAQ-quality issue.

The KB is CLINC150's `train` split (150 intents as FAQs), thresholds are tuned on `val` + `oos_val`
only, and `test` + `oos_test` are scored once with the tuned thresholds. The same again with only 10
phrasings per FAQ, and a latency run with a 5,000-phrasing KB. Everything goes through CSV files in a
temporary folder and `handoff.knowledge.evaluation.run()`, as `careregistry faq-eval` does.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from handoff.config import PROJECT_ROOT
from handoff.knowledge import evaluation

DATA = PROJECT_ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
REPORT = PROJECT_ROOT / "var" / "bench" / "evaluation.json"
TARGETS = {"answered_right_rate": 0.95, "oos_recall": 0.80, "latency_p99_ms": 10.0}


def _per_intent(rows: list[list[str]], limit: int) -> list[list[str]]:
    kept, seen = [], {}
    for text, intent in rows:
        if seen.get(intent, 0) < limit:
            seen[intent] = seen.get(intent, 0) + 1
            kept.append([text, intent])
    return kept


def _write_kb(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "answer_id"])
        writer.writerows(rows)
    return path


def _write_queries(path: Path, covered: list[list[str]], oos: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "answer_id"])
        writer.writerows([text, intent] for text, intent in covered)
        writer.writerows([text, ""] for text, _ in oos)
    return path


def _latency_run(data: dict, tmp_dir: Path, embeddings: bool | None = None) -> dict:
    """5,000 phrasings (34 per FAQ from train, minus the overflow), default thresholds, test questions."""
    kb = _write_kb(tmp_dir / "kb_5000.csv", _per_intent(data["train"], 34)[:5000])
    test = _write_queries(tmp_dir / "test.csv", data["test"], data["oos_test"])
    return evaluation.run(kb, test, embeddings=embeddings)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faq_eval", description=__doc__)
    parser.add_argument("--data", default=str(DATA), help="CLINC150 data_full.json")
    parser.add_argument("--out", default=str(REPORT), help="where to write the JSON report")
    parser.add_argument("--tfidf", action="store_true", help="also score the TF-IDF matcher (the fallback)")
    parser.add_argument("--latency-only", action="store_true",
                        help="only the 5,000-phrasing latency run, JSON on stdout (used for the references)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    data_path = Path(args.data)
    if not data_path.exists():
        print(f"CLINC150 is not at {data_path} (it comes with ../shared); nothing to measure.")
        return 0
    data = json.loads(data_path.read_text())
    if args.latency_only:
        with tempfile.TemporaryDirectory(prefix="faq-eval-") as tmp:
            print(json.dumps(_latency_run(data, Path(tmp))))
        return 0
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="faq-eval-") as tmp:
        tmp_dir = Path(tmp)
        tune = _write_queries(tmp_dir / "tune.csv", data["val"], data["oos_val"])
        test = _write_queries(tmp_dir / "test.csv", data["test"], data["oos_test"])
        kbs = {"full": _write_kb(tmp_dir / "kb_full.csv", data["train"]),
               "10_per_faq": _write_kb(tmp_dir / "kb_10.csv", _per_intent(data["train"], 10))}
        variants = [(name, kb, None) for name, kb in kbs.items()]
        if args.tfidf:
            variants += [(f"{name}_tfidf", kb, False) for name, kb in kbs.items()]
        for name, kb, embeddings in variants:
            print(f"{name}: fitting, tuning on val+oos_val, scoring test+oos_test ...", file=sys.stderr, flush=True)
            runs[name] = evaluation.run(kb, test, tune_path=tune, embeddings=embeddings)
        print("latency: 5,000 phrasings ...", file=sys.stderr, flush=True)
        runs["latency_5000"] = _latency_run(data, tmp_dir)
        # References in the same run: the same KB and questions with the float layers in numpy (a
        # process of its own, as the encoder is chosen once per process) and with TF-IDF alone.
        print("latency references: float encoder in numpy, TF-IDF ...", file=sys.stderr, flush=True)
        env = dict(os.environ, CAREREGISTRY_ENCODER="numpy")
        done = subprocess.run([sys.executable, "-m", "bench.faq_eval", "--data", str(data_path), "--latency-only"],
                              env=env, capture_output=True, text=True, check=True)
        runs["latency_5000_numpy"] = json.loads(done.stdout.strip().splitlines()[-1])
        runs["latency_5000_tfidf"] = _latency_run(data, tmp_dir, embeddings=False)
    print(render(runs))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"targets": TARGETS, "runs": runs}, indent=2))
    print(f"\nWrote {out}")
    return 0


def render(runs: dict[str, dict]) -> str:
    def pct(value):
        return "   -  " if value is None else f"{100 * value:5.1f}%"

    lines = [f"{'run':<18} {'scoring':<18} {'phrasings':>9} {'fit s':>6} {'answered right':>14} {'wrong':>7} "
             f"{'1 click':>7} {'oos prec':>8} {'oos recall':>10} {'p50 ms':>7} {'p99 ms':>7}"]
    for name, r in runs.items():
        scoring = r["scoring"] + (f" ({r['encoder']})" if r.get("encoder") else "")
        lines.append(f"{name:<18} {scoring:<18} {r['kb']['phrasings']:>9} {r['kb']['fit_seconds']:>6.1f} "
                     f"{pct(r['answered_right_rate']):>14} {pct(r['wrong_answer_rate']):>7} "
                     f"{pct(r.get('right_within_one_click_rate')):>7} "
                     f"{pct(r['oos_precision']):>8} {pct(r['oos_recall']):>10} "
                     f"{r['latency_ms']['p50']:>7.2f} {r['latency_ms']['p99']:>7.2f}")
    lines.append(f"targets: answered right >= {pct(TARGETS['answered_right_rate'])}, "
                 f"oos recall >= {pct(TARGETS['oos_recall'])}, p99 < {TARGETS['latency_p99_ms']:.0f} ms "
                 "(at 5,000 phrasings, one core)")
    for name in ("full", "10_per_faq"):
        if name in runs:
            r = runs[name]
            met = (r["answered_right_rate"] or 0) >= TARGETS["answered_right_rate"] and \
                (r["oos_recall"] or 0) >= TARGETS["oos_recall"]
            lines.append(f"{name}: accuracy targets {'met' if met else 'NOT met'}")
    if "latency_5000" in runs:
        p99 = runs["latency_5000"]["latency_ms"]["p99"]
        refs = ", ".join(f"{runs[name]['encoder'] or 'tfidf'} {runs[name]['latency_ms']['p99']:.2f} ms"
                         for name in ("latency_5000_numpy", "latency_5000_tfidf") if name in runs)
        lines.append(f"latency target {'met' if p99 < TARGETS['latency_p99_ms'] else 'NOT met'} (p99 {p99:.2f} ms"
                     + (f"; same KB and questions, p99 with {refs})" if refs else ")"))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
