"""Triage's accuracy on a labelled set of customer messages (part of `make eval`; alone: `python -m bench.triage_eval`).

The set, bench/data/triage_labelled.csv (its header says where each row comes from), is
- 143 messages written for this project in the voice of the demo shop's customers (Northwind Gadgets),
  labelled by hand with a category and a priority (urgent: fraud, a hacked account, legal threats,
  danger such as smoke or a swollen battery, a customer locked out of their home; high: money taken
  wrongly, locked out, a long-late or lost order, something that stopped working for good, anger or a
  repeat complaint; low: a friendly question; normal: the rest), and
- 360 questions from CLINC150's `test` split (Larson et al. 2019, CC BY 3.0; ../shared/datasets/clinc150),
  20 of each of 18 intents, labelled by the rule in CLINC_RULE below (intent -> category, priority).

Measured: the cues alone (urgency words + VADER tone, no customer history here; the category from the
demo's FAQs, then category words) - priority exactly right, priority within one step, category right -
and the organisation's model (routing/triage_model.py) trained on 30, 100 and 300 simulated corrections
(the set's labels, in a seeded random order) and scored on a held-out 200, beside the cues on the same
200; averaged over SEEDS orders. "takes over" counts the orders in which the cross-validation on the
corrections alone (what the service does) would have put the model in charge.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

from handoff.config import PROJECT_ROOT
from handoff.models import PRIORITIES
from handoff.routing import category_cues, triage, triage_fit, triage_model

DATA = Path(__file__).resolve().parent / "data" / "triage_labelled.csv"
CLINC = PROJECT_ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
SEED_FAQS = PROJECT_ROOT / "handoff" / "ops" / "seed_data"
CATEGORIES = {"billing": "Billing", "account": "Account", "orders": "Orders", "technical": "Technical"}
# CLINC150 intent -> (category, priority) of a shop's customer asking it.
CLINC_RULE = {
    "bill_balance": ("billing", "normal"), "bill_due": ("billing", "normal"), "pay_bill": ("billing", "normal"),
    "transactions": ("billing", "normal"), "card_declined": ("billing", "high"),
    "international_fees": ("billing", "low"),
    "account_blocked": ("account", "high"), "freeze_account": ("account", "high"), "pin_change": ("account", "normal"),
    "change_user_name": ("account", "low"), "report_fraud": ("account", "urgent"),
    "order_status": ("orders", "normal"), "order": ("orders", "normal"),
    "replacement_card_duration": ("orders", "normal"), "order_checks": ("orders", "low"),
    "sync_device": ("technical", "normal"), "reset_settings": ("technical", "normal"),
    "find_phone": ("technical", "normal"),
}
PER_INTENT = 20
HELD_OUT = 200
CURVE = (30, 100, 300)
SEEDS = 5
HEADER = ("# Triage's labelled set. Columns: text, category, priority, origin. origin 'handwritten': written and "
          "labelled for this project (Customer Care Registry); 'clinc150:<intent>': CLINC150 test split (Larson et al. 2019, "
          "CC BY 3.0), labelled by bench/triage_eval.py CLINC_RULE.")


def load(path: Path = DATA) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def build(clinc: Path = CLINC, path: Path = DATA) -> int:
    """Rewrite the CLINC150 rows of the set by CLINC_RULE, keeping the handwritten ones."""
    keep = [r for r in load(path) if r["origin"] == "handwritten"] if path.exists() else []
    data = json.loads(clinc.read_text())
    taken: dict[str, int] = {}
    for text, intent in data["test"]:
        if intent in CLINC_RULE and taken.get(intent, 0) < PER_INTENT:
            taken[intent] = taken.get(intent, 0) + 1
            category, priority = CLINC_RULE[intent]
            keep.append({"text": text, "category": category, "priority": priority, "origin": f"clinc150:{intent}"})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        writer = csv.DictWriter(fh, fieldnames=["text", "category", "priority", "origin"])
        writer.writeheader()
        writer.writerows(keep)
    return len(keep)


def seed_faqs() -> category_cues.FaqNeighbours:
    """The demo organisation's FAQ phrasings, labelled by their answers' categories."""
    with open(SEED_FAQS / "faq_answers.csv", newline="", encoding="utf-8") as fh:
        category = {r["answer_id"]: r["category"] for r in csv.DictReader(fh)}
    with open(SEED_FAQS / "faq_questions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    first: dict[str, str] = {}
    for r in rows:
        first.setdefault(r["answer_id"], r["question"])
    return category_cues.FaqNeighbours([(r["question"], category[r["answer_id"]], first[r["answer_id"]])
                                        for r in rows if r["answer_id"] in category])


def cue_predictions(rows: list[dict]) -> list[triage_model.Example]:
    faqs = seed_faqs()
    return [triage_model.Example(r["text"], triage.assess(r["text"]).priority,
                                 category_cues.guess(r["text"], CATEGORIES, faqs).category,
                                 r["priority"], r["category"]) for r in rows]


def _scores(pairs: list[tuple[str, str, str | None, str]]) -> dict:
    """pairs: (predicted priority, true priority, predicted category, true category)."""
    n = len(pairs) or 1
    step = {p: i for i, p in enumerate(PRIORITIES)}
    return {"priority_exact": sum(p == t for p, t, _, _ in pairs) / n,
            "priority_within_one": sum(abs(step[p] - step[t]) <= 1 for p, t, _, _ in pairs) / n,
            "category": sum(c == tc for _, _, c, tc in pairs) / n, "items": len(pairs)}


def _cues(examples: list[triage_model.Example]) -> dict:
    return _scores([(e.cue_priority, e.priority, e.cue_category, e.category) for e in examples])


def _model(train: list[triage_model.Example], test: list[triage_model.Example]) -> dict:
    xs = [triage_model.features(e.text, e.cue_priority, e.cue_category) for e in train]
    tests = [triage_model.features(e.text, e.cue_priority, e.cue_category) for e in test]
    priority = triage_fit.fit_model(xs, [e.priority for e in train]).predict(tests)
    category = triage_fit.fit_model(xs, [e.category for e in train]).predict(tests)
    return _scores([(str(p), e.priority, str(c), e.category) for p, c, e in zip(priority, category, test)])


def run(path: Path = DATA) -> dict:
    rows = load(path)
    examples = cue_predictions(rows)
    result = {"source": str(path.relative_to(PROJECT_ROOT)), "items": len(rows),
              "handwritten": sum(r["origin"] == "handwritten" for r in rows),
              "clinc150": sum(r["origin"].startswith("clinc150") for r in rows),
              "cues_all": _cues(examples), "cues_handwritten": _cues(
                  [e for e, r in zip(examples, rows) if r["origin"] == "handwritten"]), "curve": {}}
    for n in CURVE:
        per_seed = []
        for seed in range(SEEDS):
            order = list(range(len(examples)))
            random.Random(seed).shuffle(order)
            test = [examples[i] for i in order[:HELD_OUT]]
            train = [examples[i] for i in order[HELD_OUT:HELD_OUT + n]]
            if len(train) < n:
                continue
            verdicts = triage_model.train(train)
            per_seed.append({"model": _model(train, test), "cues": _cues(test),
                             "takes_over": {t: v.in_charge for t, v in verdicts.items()}})
        if per_seed:
            result["curve"][n] = {
                who: {k: sum(s[who][k] for s in per_seed) / len(per_seed) for k in per_seed[0][who] if k != "items"}
                for who in ("model", "cues")}
            result["curve"][n]["takes_over"] = {t: sum(s["takes_over"][t] for s in per_seed)
                                                for t in triage_model.TARGETS}
            result["curve"][n]["orders"] = len(per_seed)
    return result


def _pct(x: float) -> str:
    return f"{100 * x:6.1f}%"


def _line(label: str, s: dict) -> str:
    return f"{label:<34} {_pct(s['priority_exact'])} {_pct(s['priority_within_one'])} {_pct(s['category'])}"


def render(r: dict) -> str:
    lines = [f"Triage on {r['items']} labelled messages ({r['handwritten']} handwritten, "
             f"{r['clinc150']} from CLINC150; {r['source']})",
             f"{'who':<34} {'prio':>7} {'prio±1':>7} {'categ.':>7}"]
    for label, s in (("cues, all", r["cues_all"]), ("cues, handwritten only", r["cues_handwritten"])):
        lines.append(_line(label, s))
    for n, c in r["curve"].items():
        for who in ("model", "cues"):
            s = c[who]
            label = (f"model, {n} corrections" if who == "model" else "  cues on the same held-out")
            lines.append(_line(label, s))
        over, label = c["takes_over"], f"takes over (of {c['orders']} orders)"
        lines.append(f"  {label:<32} "
                     f"priority {over['priority']}, category {over['category']}")
    lines.append(f"  held-out {HELD_OUT} per order, {SEEDS} seeded orders averaged; prio = priority exactly right, "
                 "prio±1 = within one step, categ. = category right")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage_eval", description=__doc__)
    parser.add_argument("--build", action="store_true", help="rewrite the set's CLINC150 rows from ../shared")
    args = parser.parse_args(argv)
    if args.build:
        print(f"wrote {build()} rows to {DATA}")
    print(render(run()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
