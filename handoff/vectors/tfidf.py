"""A TF-IDF vectorizer fitted by scikit-learn (in the fitting child, see child.py), applied in plain Python.

The worker must not import scikit-learn (~75 MB resident, scipy included), so it keeps only what
TfidfVectorizer.transform reads: the analyzer, the vocabulary and the IDF. Only the settings this service
uses are reproduced (analyzer "word" with the default token pattern, "char_wb", or a function;
sublinear_tf, L2 norm, smooth IDF, no stop words or accent stripping): from_fitted() refuses any other,
so a changed setting fails at fit time instead of scoring differently. tests/handoff/vectors compares
the numbers with scikit-learn's.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

_WHITE_SPACES = re.compile(r"\s\s+")
DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKENS = re.compile(DEFAULT_TOKEN_PATTERN)


@dataclass(frozen=True)
class Analyzer:
    """scikit-learn's built-in analyzers "word" (default token pattern) and "char_wb", over n-grams
    from low to high."""

    kind: str  # "word" or "char_wb"
    low: int
    high: int
    lowercase: bool

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return self._char_wb(text) if self.kind == "char_wb" else self._words(text)

    def _words(self, text: str) -> list[str]:
        tokens = _TOKENS.findall(text)
        grams = list(tokens) if self.low == 1 else []
        for n in range(max(self.low, 2), min(self.high, len(tokens)) + 1):
            grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        return grams

    def _char_wb(self, text: str) -> list[str]:
        grams = []
        for word in _WHITE_SPACES.sub(" ", text).split():
            word = f" {word} "
            for n in range(self.low, self.high + 1):
                grams += [word[i:i + n] for i in range(max(len(word) - n, 0) + 1)]
                if len(word) <= n:  # a word shorter than n counts once, as scikit-learn's does
                    break
        return grams


@dataclass(frozen=True)
class Tfidf:
    analyzer: Callable[[str], list[str]]  # an Analyzer, or a module-level function (it is pickled)
    vocabulary: dict[str, int]
    # Python floats: a question has ~200 character n-grams, and a numpy scalar costs a microsecond each.
    idf: list[float]

    @property
    def width(self) -> int:
        return len(self.idf)

    def weigh(self, text: str, unseen_idf: float | None = None) -> tuple[list[int], list[float]]:
        """The text's columns and their sublinear TF x IDF values, L2-normalised: TfidfVectorizer.transform's
        row. With `unseen_idf`, terms outside the vocabulary still count towards the length at that IDF
        (the FAQ matcher's choice, see matcher._View); scikit-learn drops them."""
        cols, vals, unseen = [], [], 0.0
        vocabulary, idf = self.vocabulary, self.idf
        for term, count in Counter(self.analyzer(text)).items():
            tf = 1.0 + math.log(count) if count > 1 else 1.0
            col = vocabulary.get(term)
            if col is not None:
                cols.append(col)
                vals.append(tf * idf[col])
            elif unseen_idf is not None:
                unseen += (tf * unseen_idf) ** 2
        norm = math.sqrt(math.fsum(v * v for v in vals) + unseen)
        if not norm:
            return [], []
        return cols, [v / norm for v in vals]


def from_fitted(vectorizer) -> Tfidf:
    """The numbers of a fitted scikit-learn TfidfVectorizer (read, not imported: this runs in the child)."""
    settings = (vectorizer.sublinear_tf, vectorizer.norm, vectorizer.use_idf, vectorizer.smooth_idf,
                vectorizer.stop_words, vectorizer.strip_accents, vectorizer.preprocessor, vectorizer.tokenizer,
                vectorizer.input, vectorizer.binary)
    if settings != (True, "l2", True, True, None, None, None, None, "content", False):
        raise ValueError(f"TF-IDF settings not reproduced in numpy: {settings}")
    if callable(vectorizer.analyzer):
        analyzer = vectorizer.analyzer
    elif vectorizer.analyzer in ("word", "char_wb") and (
            vectorizer.analyzer == "char_wb" or vectorizer.token_pattern == DEFAULT_TOKEN_PATTERN):
        analyzer = Analyzer(vectorizer.analyzer, *vectorizer.ngram_range, vectorizer.lowercase)
    else:
        raise ValueError(f"TF-IDF analyzer not reproduced in numpy: {vectorizer.analyzer!r}")
    return Tfidf(analyzer, {str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
                 [float(x) for x in vectorizer.idf_])
