"""A sparse matrix in plain numpy, stored by column (scipy's CSC layout), times a sparse query.

A question touches a few hundred of the index's tens of thousands of TF-IDF columns, so the product
reads only those columns' stored values instead of every row's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Columns:
    starts: np.ndarray  # (columns + 1,): where each column's values begin in rows/values
    rows: np.ndarray
    values: np.ndarray
    n_rows: int

    @classmethod
    def from_csc(cls, matrix) -> Columns:
        """From a scipy CSC matrix (in the fitting child)."""
        matrix.sort_indices()
        return cls(np.asarray(matrix.indptr, dtype=np.int64), np.asarray(matrix.indices, dtype=np.int32),
                   np.asarray(matrix.data), int(matrix.shape[0]))

    @property
    def n_columns(self) -> int:
        return len(self.starts) - 1

    def dot(self, cols: list[int], vals: list[float]) -> np.ndarray:
        """(rows,) float64: the matrix times the vector whose only non-zero entries are vals at cols."""
        cols = np.asarray(cols, dtype=np.int64)
        begin, end = self.starts[cols], self.starts[cols + 1]
        lengths = end - begin
        # The position of every stored value of the chosen columns: each column's run, one after another.
        at = np.arange(int(lengths.sum())) + np.repeat(begin - (np.cumsum(lengths) - lengths), lengths)
        weights = self.values[at] * np.repeat(np.asarray(vals, dtype=np.float64), lengths)
        # (bincount of no weights at all comes out as integers)
        return np.bincount(self.rows[at], weights=weights, minlength=self.n_rows).astype(np.float64, copy=False)
