"""The in-process FAQ index: an edit reaches the next question; a slow refit never stalls customers."""
import threading

import pytest

from handoff.knowledge import faqs
from handoff.knowledge.index import KnowledgeIndex
from handoff.knowledge.matcher import FaqMatcher

QUESTION = "can I bring my parrot to the shop"


def test_the_next_question_after_an_edit_is_answered_from_the_edit(seeded):
    index = KnowledgeIndex()
    assert index.search(QUESTION)["decision"] != "answer"
    faq = faqs.create_faq("Parrots are welcome in every shop.", "orders",
                          ["Can I bring my parrot to the shop?", "are birds allowed in your stores"])
    result = index.search(QUESTION)
    assert result["decision"] == "answer" and result["matches"][0]["faq_id"] == faq["id"]


def test_while_a_large_index_refits_customers_are_answered_from_the_previous_one(seeded, monkeypatch):
    index = KnowledgeIndex(wait=0.1)
    before = index.search("How long does a refund take?")
    assert before["decision"] == "answer"

    release = threading.Event()
    real_fit = FaqMatcher.fit

    def slow_fit(self, phrasings, previous=None):
        release.wait(30)  # a refit that takes as long as the test wants
        return real_fit(self, phrasings, previous)

    monkeypatch.setattr(FaqMatcher, "fit", slow_fit)
    faq = faqs.create_faq("Parrots are welcome in every shop.", "orders",
                          ["Can I bring my parrot to the shop?", "are birds allowed in your stores"])
    # The refit is still running: answers come from the old index, which does not know parrots yet.
    assert index.search("How long does a refund take?")["matches"][0]["faq_id"] == before["matches"][0]["faq_id"]
    assert all(m["faq_id"] != faq["id"] for m in index.search(QUESTION)["matches"])

    release.set()
    for _ in range(100):  # the refit finishes in the background; a later question sees it
        result = index.search(QUESTION)
        if result["matches"] and result["matches"][0]["faq_id"] == faq["id"]:
            break
        threading.Event().wait(0.1)
    assert result["decision"] == "answer" and result["matches"][0]["faq_id"] == faq["id"]


def test_while_the_index_refits_a_disabled_faq_is_never_offered_and_an_edited_answer_reads_as_edited(
        seeded, monkeypatch):
    """An admin disables a wrong answer: customers stop getting it at once, however long the refit takes."""
    index = KnowledgeIndex(wait=0.1)
    refund = index.search("How long does a refund take?")["matches"][0]
    release = threading.Event()
    real_fit = FaqMatcher.fit
    monkeypatch.setattr(FaqMatcher, "fit", lambda self, phrasings, previous=None:
                        release.wait(30) and real_fit(self, phrasings, previous))
    try:
        faqs.set_enabled(refund["faq_id"], False)
        assert all(m["faq_id"] != refund["faq_id"] for m in index.search("How long does a refund take?")["matches"])

        faqs.set_enabled(refund["faq_id"], True)
        faq = faqs.faq_for_admin(refund["faq_id"])
        faqs.update_faq(faq["id"], "Refunds now take 3 working days.", faq["category"], faq["phrasings"])
        top = index.search("How long does a refund take?")["matches"][0]
        assert top["faq_id"] == refund["faq_id"] and top["answer"] == "Refunds now take 3 working days."
    finally:
        release.set()


def test_a_failed_refit_keeps_answering_from_the_previous_index(seeded, monkeypatch, caplog):
    index = KnowledgeIndex(wait=1)
    assert index.search("How long does a refund take?")["decision"] == "answer"

    calls = []

    def broken_fit(self, phrasings, previous=None):
        calls.append(1)
        raise MemoryError("out of memory")

    monkeypatch.setattr(FaqMatcher, "fit", broken_fit)
    faqs.create_faq("Parrots are welcome.", "orders", ["Can I bring my parrot to the shop?"])
    with caplog.at_level("ERROR", logger="careregistry.knowledge"):
        assert index.search("How long does a refund take?")["decision"] == "answer"
        assert index.search("How long does a refund take?")["decision"] == "answer"
    assert "faq index rebuild failed" in caplog.text
    assert len(calls) == 1  # not retried on every question


def test_a_failed_fitting_child_keeps_the_previous_index_and_the_log_says_why_and_what_to_do(seeded, monkeypatch,
                                                                                           caplog):
    index = KnowledgeIndex(wait=5)
    before = index.search("How long does a refund take?")
    assert before["decision"] == "answer"
    monkeypatch.setattr("handoff.knowledge.matcher.FITTING", "handoff.no_such_module")
    faqs.create_faq("Parrots are welcome.", "orders", ["Can I bring my parrot to the shop?"])
    with caplog.at_level("ERROR", logger="careregistry.knowledge"):
        assert index.search("How long does a refund take?") == before
        for _ in range(300):  # a loaded machine may take longer than the search's wait to start the child
            if "faq index rebuild failed" in caplog.text:
                break
            threading.Event().wait(0.1)
        assert index.search("How long does a refund take?") == before
    assert "cause=exit module=handoff.no_such_module" in caplog.text
    assert "No module named handoff.no_such_module" in caplog.text and "fix=" in caplog.text


def test_after_a_start_a_large_kb_answers_with_tfidf_until_its_embeddings_are_ready(seeded, monkeypatch):
    if not FaqMatcher().embeddings:
        pytest.skip("sentence model package not installed (requirements/model.lock)")
    monkeypatch.setattr("handoff.knowledge.index.PROVISIONAL_ABOVE", 10)  # the demo KB counts as large
    release = threading.Event()
    real_fit = FaqMatcher.fit

    def slow_embedding_fit(self, phrasings, previous=None):
        if self.embeddings:
            release.wait(30)
        return real_fit(self, phrasings, previous)

    monkeypatch.setattr(FaqMatcher, "fit", slow_embedding_fit)
    index = KnowledgeIndex(wait=0.1)
    assert index.search("How long does a refund take?")["decision"] == "answer"  # not waiting for the model
    assert not index.matcher().embeddings
    release.set()
    for _ in range(100):
        if index.matcher().embeddings:
            break
        threading.Event().wait(0.1)
    assert index.matcher().embeddings
    assert index.search("How long does a refund take?")["decision"] == "answer"
