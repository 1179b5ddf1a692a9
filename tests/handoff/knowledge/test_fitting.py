"""The FAQ index's fitting, as the child process runs it."""
import numpy as np
import pytest

from handoff.knowledge.fitting import _own_spread, _starting_weights
from handoff.knowledge.matcher import FaqMatcher
from tests.handoff.knowledge.test_matcher import PHRASINGS, needs_model


@needs_model
def test_the_starting_weights_keep_what_both_versions_know():
    before = FaqMatcher(embeddings=True).fit(PHRASINGS)
    after = FaqMatcher(embeddings=True).fit([p for p in PHRASINGS if p[0] != 5] + [(6, "do you ship to canada"),
                                                                                   (6, "deliver abroad")])
    old, new = before._index, after._index
    dense = old.semantic.dense_weights.shape[0]
    weights, bias = _starting_weights((old.faq_ids, old.semantic), new, dense)
    assert weights.shape == (len(new.faq_ids), dense)
    kept, added = new.faq_ids.index(2), new.faq_ids.index(6)
    assert np.allclose(weights[kept, :dense], old.semantic.dense_weights[:, old.faq_ids.index(2)])
    assert bias[kept] == pytest.approx(old.semantic.bias[old.faq_ids.index(2)])
    assert not weights[added].any() and bias[added] == 0  # a new FAQ starts from nothing


def test_an_faqs_own_spread_leans_on_the_whole_kbs_when_it_has_few_phrasings():
    values = np.array([1.0, 3.0, 5.0, 7.0, 2.0])  # FAQ 0: four phrasings, spread sqrt(5); FAQ 1: one
    spread = _own_spread(values, np.array([0, 4]), np.array([4, 5]))
    assert spread[:, 0] == pytest.approx([4.0, 2.0])
    assert 0 < spread[1, 1] < spread[0, 1] < np.sqrt(5.0)
