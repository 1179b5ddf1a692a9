"""Self-calibration: thresholds chosen from the knowledge base alone, on KBs where the right ones are known."""
import numpy as np
import pytest

from handoff.knowledge.calibration import RISK_LEVELS, UNCOVERED_ANSWERED, Outcome, calibrate, held_out_searches
from handoff.knowledge.matcher import FaqMatcher

# 12 topics, each with words of its own; every phrasing also carries two words shared by all topics,
# so an unknown topic still matches something, weakly.
TOPICS = [
    ("parcel", "courier", "delivery", "tracking", "shipment"),
    ("refund", "money", "reimburse", "credit", "repayment"),
    ("password", "login", "credentials", "locked", "signin"),
    ("warranty", "guarantee", "defect", "broken", "repair"),
    ("invoice", "receipt", "billing", "statement", "vat"),
    ("voucher", "coupon", "discount", "promo", "code"),
    ("newsletter", "unsubscribe", "emails", "mailing", "spam"),
    ("battery", "charging", "charger", "power", "drain"),
    ("bluetooth", "pairing", "headphones", "connect", "earbuds"),
    ("address", "relocate", "moving", "street", "postcode"),
    ("gift", "wrapping", "present", "card", "message"),
    ("size", "fit", "measurements", "chart", "tight"),
]
UNKNOWN = [("pizza", "pepperoni", "oven", "slice", "cheese"), ("flight", "airport", "boarding", "luggage", "gate")]
FILLER = ("question", "help", "problem", "about", "today", "with")


def _phrasings(words, rng, n):
    out = []
    for _ in range(n):
        picked = list(rng.choice(words, 3, replace=False)) + list(rng.choice(FILLER, 2, replace=False))
        rng.shuffle(picked)
        out.append(" ".join(picked))
    return out


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(7)
    kb = [(n, text) for n, words in enumerate(TOPICS) for text in _phrasings(words, rng, 8)]
    matcher = FaqMatcher(embeddings=False).fit(kb)
    calibration = matcher.calibrate()
    asked = [(n, text) for n, words in enumerate(TOPICS) for text in _phrasings(words, rng, 3)]
    unknown = [text for words in UNKNOWN for text in _phrasings(words, rng, 5)]
    return matcher, calibration, asked, unknown


def test_a_kb_of_distinct_topics_is_answered_outright_and_an_unknown_topic_is_not(synthetic):
    matcher, calibration, asked, unknown = synthetic
    assert calibration is not None and matcher.calibration is calibration
    for risk in RISK_LEVELS:
        for faq_id, text in asked:
            matches = matcher.search(text)
            assert (matches[0].faq_id, matcher.decide(matches, risk=risk)) == (faq_id, "answer"), text
        # The shared filler words are all an unknown topic has: that is "I don't know", not a choice.
        assert [matcher.decide(matcher.search(t), risk=risk) for t in unknown] == ["unknown"] * len(unknown)


def test_the_expected_shares_say_what_the_kb_supports(synthetic):
    _, calibration, _, _ = synthetic
    for risk in RISK_LEVELS:
        level = calibration.level(risk)
        assert level.right == pytest.approx(1.0)
        assert level.wrong == 0.0
        # Topics held out whole stand for uncovered questions: 20% of the stream by assumption.
        assert level.answered == pytest.approx(0.8, abs=0.01)
        assert level.answered + level.offered + level.handed_on == pytest.approx(1.0)
    assert calibration.confused == ()


def test_the_fixed_thresholds_stay_on_a_kb_too_small_to_tell():
    matcher = FaqMatcher(embeddings=False).fit([(1, "reset my password"), (1, "forgot password"),
                                                (2, "where is my parcel"), (2, "track my order")])
    assert matcher.calibrate() is None and matcher.calibration is None
    assert matcher.fixed().decide(matcher.search("forgot password")) == matcher.decide(matcher.search("forgot password"))


def _features(x, noise=0.0):
    """Ten numbers as matcher._features gives them: x first, a nearest phrasing close enough (1.0)."""
    return [x, noise, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]


def _outcomes(rng, n, overlap):
    """One feature x: right best matches have x in [0.5 - overlap, 1], wrong ones and uncovered
    questions x in [0, 0.5 + overlap]."""
    out = []
    for _ in range(n):
        kind = rng.choice(["right", "wrong", "uncovered"], p=[0.6, 0.2, 0.2])
        x = rng.uniform(0.5 - overlap, 1.0) if kind == "right" else rng.uniform(0.0, 0.5 + overlap)
        out.append(Outcome(_features(x, rng.normal()), kind == "right", kind != "uncovered", kind != "uncovered"))
    return out


def test_with_separable_scores_the_answer_threshold_falls_between_right_and_wrong():
    outcomes = _outcomes(np.random.default_rng(1), 3000, overlap=0.0)
    calibration = calibrate(outcomes)
    for risk in RISK_LEVELS:
        level = calibration.level(risk)
        low_right = calibration.probabilities(_features(0.52))[0]
        high_wrong = calibration.probabilities(_features(0.48))[0]
        assert high_wrong < level.answer <= low_right
        # Every right best match answered (60% of questions, 75% of covered ones), next to no wrong one
        # (the noise feature blurs the line a little).
        assert level.right == pytest.approx(0.75, abs=0.02) and level.wrong < 0.005


@pytest.mark.parametrize("risk", RISK_LEVELS)
def test_with_overlapping_scores_the_chosen_risk_holds_on_the_questions_it_was_chosen_on(risk):
    outcomes = _outcomes(np.random.default_rng(2), 4000, overlap=0.2)
    calibration = calibrate(outcomes)
    level = calibration.level(risk)
    p = np.array([calibration.probabilities(o.features)[0] for o in outcomes])
    answered = p >= level.answer
    covered = np.array([o.covered for o in outcomes])
    right = np.array([o.right for o in outcomes])
    # Uncovered questions count as 20% of the stream, covered ones as 80%.
    wrong = 0.8 * (answered & covered & ~right).sum() / covered.sum() + 0.2 * (answered & ~covered).sum() / (~covered).sum()
    assert wrong <= 1 / risk + 1e-9
    assert wrong == pytest.approx(level.wrong)
    # A stricter setting never answers more.
    stricter = [r for r in RISK_LEVELS if r > risk]
    assert all(calibration.level(r).answered <= level.answered for r in stricter)


def test_questions_on_lacking_topics_are_answered_at_most_at_the_cap_whatever_risk_is_left():
    # Covered questions always right, so the wrong-answer budget is all spent on uncovered ones: at 1
    # wrong in 20 it would buy a quarter of them (5% of the stream / their 20%); the cap allows 16.5%.
    rng = np.random.default_rng(3)
    outcomes = [Outcome(_features(rng.uniform(0.3, 1.0), rng.normal()), True, True, True) for _ in range(3000)] + \
        [Outcome(_features(rng.uniform(0.0, 0.7), rng.normal()), False, False, False) for _ in range(1000)]
    calibration = calibrate(outcomes)
    uncovered = np.array([calibration.probabilities(o.features)[0] for o in outcomes[3000:]])
    shares = {risk: (uncovered >= calibration.level(risk).answer).mean() for risk in RISK_LEVELS}
    assert shares[20] == pytest.approx(UNCOVERED_ANSWERED, abs=0.005)  # the cap, not the budget, decides at 1 in 20
    assert shares[100] == pytest.approx(0.05, abs=0.005)  # 1 wrong in 100 is stricter than the cap
    assert calibration.level(20).wrong == pytest.approx(0.2 * shares[20], abs=0.002)
    # As many again that matched nothing at all count too: 16.5% of 2,000 is 33% of the 1,000 that matched.
    calibration = calibrate(outcomes, unmatched=(0, 1000))
    uncovered = np.array([calibration.probabilities(o.features)[0] for o in outcomes[3000:]])
    assert (uncovered >= calibration.level(20).answer).mean() == pytest.approx(2 * UNCOVERED_ANSWERED, abs=0.005)


def test_held_out_searches_hold_out_whole_faqs_and_some_phrasings_of_the_rest():
    groups = [(n, [f"faq{n} phrasing{j}" for j in range(4)]) for n in range(8)]
    folds_seen = []

    def fit(pairs):
        kb = {faq_id for faq_id, _ in pairs}
        folds_seen.append((kb, len(pairs)))

        class M:
            def __init__(self, faq_id):
                self.faq_id = faq_id

        def search(text):
            faq_id = int(text.split()[0][3:])
            return ([M(faq_id)] if faq_id in kb else [M(min(kb))]), [0.0]
        return search

    outcomes, unmatched = held_out_searches(groups, fit, folds=4)
    assert len(folds_seen) == 4 and unmatched == (0, 0)
    # A tenth of the FAQs (at least one) held out whole in each fold, a different one each time...
    assert all(len(kb) == 7 for kb, _ in folds_seen)
    assert len({frozenset(range(8)) - kb for kb, _ in folds_seen}) == 4
    assert all(n == 7 * 3 for _, n in folds_seen)  # ...and 1 of 4 phrasings of each other FAQ
    assert sum(not o.covered for o in outcomes) == 4 * 4
    assert all(o.right for o in outcomes if o.covered) and not any(o.right for o in outcomes if not o.covered)
