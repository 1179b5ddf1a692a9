import csv

import numpy as np
import pytest

from handoff.knowledge.matcher import (
    DEFAULT_ANSWER_THRESHOLD,
    FaqMatcher,
    Match,
    embedding_model_installed,
)
from handoff.ops.cli import SEED

SEED_DIR = SEED
CATEGORIES = {"billing", "account", "orders", "technical"}

PHRASINGS = [
    (1, "How do I reset my password?"),
    (1, "forgot my password"),
    (1, "password reset link not working"),
    (1, "I can't remember my login password"),
    (2, "Where is my order?"),
    (2, "how do I track my package"),
    (2, "tracking number for my order"),
    (2, "has my order shipped yet"),
    (3, "What is your return policy?"),
    (3, "how many days do I have to return an item"),
    (3, "can I return something I opened"),
    (4, "How do I cancel my order?"),
    (4, "cancel my order please"),
    (4, "I want to stop my order"),
    (5, "How do I cancel my subscription?"),
    (5, "cancel my subscription please"),
    (5, "I want to stop my subscription"),
]

# Out-of-scope questions for the demo shop; none of them should ever get a confident answer.
OUT_OF_SCOPE = [
    "what's the weather like tomorrow", "tell me a joke", "who won the football game last night",
    "how do I bake sourdough bread", "what is the capital of australia", "can you recommend a good movie",
    "do you sell washing machines", "what time is it", "i want to book a flight to paris",
    "how many calories are in a banana", "translate hello into spanish", "what is the meaning of life",
    "my car makes a weird noise when braking", "how do i fix a leaking tap", "are you a robot",
    "sing me a song", "what's your favourite colour", "help me write a cover letter",
    "how to lose weight fast", "what's the exchange rate for euros", "best pizza near me",
    "can my dog eat grapes", "how do I renew my passport", "who is the president of france",
    "recommend a good book to read", "how tall is mount everest", "is it going to rain today",
    "what's 17 times 23", "i'm bored", "where can i buy concert tickets",
]


# Every behaviour holds for both scorings: TF-IDF (the fallback) and embeddings (when installed).
SCORINGS = [
    pytest.param(False, id="tfidf"),
    pytest.param(True, id="embeddings", marks=pytest.mark.skipif(
        not embedding_model_installed(), reason="sentence model package not installed (requirements/model.lock)")),
]


@pytest.fixture(params=SCORINGS)
def embeddings(request):
    return request.param


@pytest.fixture
def matcher(embeddings):
    return FaqMatcher(embeddings=embeddings).fit(PHRASINGS)


@pytest.mark.parametrize(
    "question, faq_id",
    [
        ("i forgot my pasword, how can I reset it", 1),
        ("Where's my package? I want to track it", 2),
        ("how long do I have to return something", 3),
    ],
)
def test_paraphrase_gets_its_faq_as_an_answer(matcher, question, faq_id):
    matches = matcher.search(question)
    assert matches[0].faq_id == faq_id
    assert matcher.decide(matches) == "answer"


@pytest.mark.parametrize("question", ["what's the weather like tomorrow", "tell me a joke", "who won the match"])
def test_unrelated_question_is_unknown(matcher, question):
    assert matcher.decide(matcher.search(question)) == "unknown"


def test_question_matching_two_faqs_equally_offers_a_choice(matcher):
    matches = matcher.search("I want to cancel")
    assert matcher.decide(matches) == "choose"
    assert {4, 5} <= {m.faq_id for m in matches}


@pytest.mark.parametrize("limit", [1, 2, 3, 10])
def test_limit_is_respected_with_distinct_faqs_best_first(matcher, limit):
    matches = matcher.search("cancel my order or my subscription, or track my order", limit=limit)
    assert 1 <= len(matches) <= limit
    assert len({m.faq_id for m in matches}) == len(matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert all(isinstance(m, Match) and 0.0 <= m.score <= 1.0 for m in matches)


def test_match_names_the_closest_stored_phrasing(matcher):
    assert matcher.search("tracking number for my order please", limit=1)[0].phrasing == "tracking number for my order"


def test_refit_replaces_the_old_entries(matcher):
    matcher.fit([("warranty", "How long is the warranty?"), ("warranty", "is my speaker under warranty")])
    matches = matcher.search("forgot my password")
    assert all(m.faq_id == "warranty" for m in matches)
    assert matcher.decide(matches) != "answer"
    assert matcher.search("how long is the warranty")[0].faq_id == "warranty"


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!...", None])
def test_empty_question_finds_nothing(matcher, question):
    assert matcher.search(question) == []
    assert matcher.decide([]) == "unknown"


def test_empty_index_finds_nothing(embeddings):
    matcher = FaqMatcher(embeddings=embeddings)
    assert matcher.search("forgot my password") == []
    assert matcher.fit([]).search("forgot my password") == []
    assert matcher.decide(matcher.search("forgot my password")) == "unknown"


def _read_csv(name):
    with open(SEED_DIR / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_seed_knowledge_base_is_consistent_and_matchable(embeddings):
    answers = _read_csv("faq_answers.csv")
    questions = _read_csv("faq_questions.csv")
    categories = {row["answer_id"]: row["category"] for row in answers}
    assert len(categories) == len(answers) >= 30
    assert set(categories.values()) == CATEGORIES
    assert all(row["answer"].strip() for row in answers)

    phrasings: dict[str, list[str]] = {}
    for row in questions:
        assert row["answer_id"] in categories, row
        phrasings.setdefault(row["answer_id"], []).append(row["question"])
    assert set(phrasings) == set(categories)
    assert min(len(qs) for qs in phrasings.values()) >= 4

    # Hold out each FAQ's last phrasing; the matcher calibrates itself on the rest (at 1 wrong answer
    # in 20), as the service's index does. Measured with embeddings: right FAQ first for 34/36, right
    # FAQ answered or offered as a choice for 34/36; with all phrasings, 3 of the 30 out-of-scope
    # questions answered and 27 "unknown". TF-IDF: 27/36 reached. Asserted with a margin so a
    # small edit to the seed data does not fail the build.
    matcher = FaqMatcher(embeddings=embeddings).fit((faq_id, q) for faq_id, qs in phrasings.items() for q in qs[:-1])
    assert matcher.calibrate() is not None
    top_right = reached = 0
    for faq_id, qs in phrasings.items():
        matches = matcher.search(qs[-1])
        decision = matcher.decide(matches)
        top_right += matches[0].faq_id == faq_id
        reached += (decision == "answer" and matches[0].faq_id == faq_id) or (
            decision == "choose" and faq_id in {m.faq_id for m in matches}
        )
    assert top_right / len(phrasings) >= 0.85
    assert reached / len(phrasings) >= (0.85 if embeddings else 0.7)

    matcher.fit((faq_id, q) for faq_id, qs in phrasings.items() for q in qs)
    matcher.calibrate()
    decisions = [matcher.decide(matcher.search(q)) for q in OUT_OF_SCOPE]
    # 1 wrong answer in 20 leaves room for a few (3 of 30 out-of-scope questions is 2% of all
    # questions if 1 in 5 is out of scope): with embeddings, "what time is it", "is it going to rain
    # today" and "what's the weather like tomorrow" land on the delivery-time FAQ ("can I get it by
    # tomorrow"). In the bot, its language model sends such small talk to out_of_scope first.
    assert decisions.count("answer") <= 3
    assert decisions.count("unknown") >= 0.75 * len(OUT_OF_SCOPE)


def test_without_the_model_packages_it_falls_back_to_tfidf(monkeypatch):
    monkeypatch.setattr("handoff.knowledge.matcher.embedding_model_installed", lambda: False)
    matcher = FaqMatcher().fit(PHRASINGS)
    assert not matcher.embeddings
    assert matcher.answer_threshold == DEFAULT_ANSWER_THRESHOLD
    matches = matcher.search("forgot my password")
    assert matches[0].faq_id == 1 and matcher.decide(matches) == "answer"


def test_broken_model_package_logs_a_warning_and_falls_back(monkeypatch, caplog):
    def broken():
        raise FileNotFoundError("no model here")

    monkeypatch.setattr("handoff.knowledge.matcher._encoder_failed", False)
    monkeypatch.setattr("handoff.knowledge.sentence_encoder.shared_encoder", broken)
    with caplog.at_level("WARNING", logger="careregistry.faq_matcher"):
        matcher = FaqMatcher(embeddings=True)
    assert not matcher.embeddings
    assert "TF-IDF" in caplog.text
    assert matcher.fit(PHRASINGS).search("where is my order")[0].faq_id == 2


@pytest.mark.skipif(not embedding_model_installed(), reason="sentence model package not installed (requirements/model.lock)")
def test_embeddings_match_a_paraphrase_that_shares_no_words():
    matcher = FaqMatcher(embeddings=True).fit(PHRASINGS)
    # Says "credentials" and "recall" where the stored phrasings say "password" and "remember".
    assert matcher.search("locked out, can't recall my login credentials")[0].faq_id == 1


needs_model = pytest.mark.skipif(not embedding_model_installed(),
                                 reason="sentence model package not installed (requirements/model.lock)")


@needs_model
def test_a_refit_from_the_previous_version_answers_like_a_fresh_fit():
    before = FaqMatcher(embeddings=True).fit(PHRASINGS)
    # An admin adds an FAQ, deletes "cancel subscription" and adds a phrasing to "track order".
    edited = [p for p in PHRASINGS if p[0] != 5] + [
        (2, "parcel still not here"),
        (6, "do you ship to canada"), (6, "international shipping countries"), (6, "can you deliver abroad"),
    ]
    fresh = FaqMatcher(embeddings=True).fit(edited)
    refit = FaqMatcher(embeddings=True).fit(edited, previous=before)
    questions = ["I forgot my password", "my parcel is still not here", "do you deliver to canada",
                 "what's your return policy", "please cancel my order", "cancel my subscription"]
    for question in questions:
        got, expected = refit.search(question), fresh.search(question)
        assert [m.faq_id for m in got] == [m.faq_id for m in expected], question
        assert refit.decide(got) == fresh.decide(expected), question
        assert all(m.faq_id != 5 for m in got)  # the deleted FAQ is gone
        assert abs(got[0].score - expected[0].score) < 0.05, question
    assert refit.decide(refit.search("do you deliver to canada")) == "answer"


@needs_model
def test_the_calibration_reads_how_typical_the_question_is_of_its_best_faq():
    # After the ten numbers both scorings give: the best FAQ's logit against its own phrasings' (in
    # their spread), the share of the nearest phrasings that are the FAQ's, the top probabilities'
    # entropy. A question on a topic the KB lacks may still score well; it is not typical of the FAQ.
    matcher = FaqMatcher(embeddings=True).fit(PHRASINGS)
    own = matcher._rank("forgot my password", 3)[1]
    paraphrase = matcher._rank("I can't remember the password to log in", 3)[1]
    unrelated = matcher._rank("what's the weather like tomorrow", 3)[1]
    assert len(own) == len(unrelated) == 13
    assert own[10] > unrelated[10] and paraphrase[10] > unrelated[10]
    assert own[12] < unrelated[12]
    assert 0 < own[11] <= 1  # (3-4 phrasings an FAQ here: the 10 nearest cannot tell much)
