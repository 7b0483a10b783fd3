"""Sorting helpers for the numeric core: stable lexicographic orders of small non-negative integer keys."""

from __future__ import annotations

import numpy as np

_INT64_VALUE_BITS = 63
"""Bits of a non-negative int64 value."""


def lexsort_ints(keys, sizes) -> np.ndarray:
    """Stable lexicographic order of ``n`` rows by integer key columns, the first column primary.

    ``keys``: a sequence of ``(n,)`` integer arrays, column ``k`` holding values in ``[0, sizes[k])``.
    Returns the ``(n,)`` int64 permutation ``np.lexsort(keys[::-1])`` returns (ties keep their row order).
    When the keys and the row index fit in 63 bits they are packed into one int64 per row and sorted as
    values (NumPy's SIMD sort, several times faster than an argsort); otherwise ``np.lexsort`` is used.
    """
    keys = [np.asarray(k, dtype=np.int64) for k in keys]
    n = keys[0].size if keys else 0
    key_bits = [max(int(s) - 1, 0).bit_length() for s in sizes]
    row_bits = max(n - 1, 0).bit_length()
    if not keys or sum(key_bits) + row_bits > _INT64_VALUE_BITS:
        return np.lexsort(keys[::-1]).astype(np.int64) if keys else np.zeros(0, np.int64)
    packed = np.zeros(n, np.int64)
    for key, bits in zip(keys, key_bits, strict=True):
        packed <<= bits
        packed |= key
    packed <<= row_bits
    packed |= np.arange(n, dtype=np.int64)  # unique values: the sort order is the stable one
    packed.sort()
    packed &= (1 << row_bits) - 1
    return packed
