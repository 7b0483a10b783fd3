"""The packed integer sort of the numeric core against NumPy's own stable lexicographic sort."""

from __future__ import annotations

import numpy as np
import pytest

from leosim._core.sorting import lexsort_ints


@pytest.mark.parametrize("sizes", [(7,), (20_830, 3, 4_408), (2**20, 2**20, 2**20)])
def test_lexsort_ints_is_numpy_lexsort(sizes):
    # Small key ranges force many ties, so the row order among equal keys (stability) is exercised; the
    # last case needs 60 key bits + 15 row bits > 63 and takes the np.lexsort fallback.
    rng = np.random.default_rng(3)
    n = 20_000
    keys = [rng.integers(0, min(s, 50), n) for s in sizes]
    order = lexsort_ints(keys, sizes)
    assert order.dtype == np.int64
    np.testing.assert_array_equal(order, np.lexsort(keys[::-1]))


def test_lexsort_ints_empty_and_single_row():
    assert lexsort_ints([np.zeros(0, np.int64)], [5]).size == 0
    np.testing.assert_array_equal(lexsort_ints([np.array([3])], [4]), [0])
