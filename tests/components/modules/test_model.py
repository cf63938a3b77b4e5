"""The model's encodings of numeric columns: piecewise-linear bins, int values as categories."""

import numpy as np
import pytest

from components.modules.model import IntegerCategoryEmbedding, PiecewiseLinearEmbedding


def test_the_encoding_turns_bins_on_up_to_the_position():
    """With unit weights and one dimension, the sum of the bins is the position itself."""
    layer = PiecewiseLinearEmbedding(bins=4, dim=1)
    layer.build((None, 2))
    layer.kernel.assign(np.ones((2, 4, 1), "float32"))
    positions = np.array([[0.0, 4.0], [2.5, 1.0], [7.0, 0.25]], "float32")
    np.testing.assert_allclose(layer(positions).numpy(), [[0, 4], [2.5, 1], [4, 0.25]])


@pytest.mark.parametrize("dim", [1, 8])
def test_each_column_gets_its_own_embedding(dim):
    layer = PiecewiseLinearEmbedding(bins=4, dim=dim)
    layer.build((None, 3))
    out = layer(np.zeros((5, 3), "float32")).numpy()
    assert out.shape == (5, 3 * dim)
    assert layer.kernel.shape == (3, 4, dim)


def test_each_int_value_gets_its_own_vector_and_unseen_values_share_one():
    # Columns 1 and 2 are ints with 3 and 2 train values (as z-scores); column 0 is not embedded.
    layer = IntegerCategoryEmbedding(positions=[1, 2], values=[[-1.0, 0.5, 2.0], [0.0, 3.0]], dim=2)
    layer.build((None, 3))
    slots = 4  # the most values (3) + unknown
    assert layer.table.shape == (2 * slots, 2)
    table = np.arange(2 * slots * 2, dtype="float32").reshape(2 * slots, 2)
    layer.table.assign(table)
    numeric = np.array(
        [
            [9.0, -1.0, 0.0],  # first value of each column
            [9.0, 2.0, 3.0],  # last value of each column
            [9.0, 0.5, 1.5],  # column 2's 1.5 was never seen: its unknown slot
            [9.0, 7.0, -4.0],  # beyond the ends: unknown too
        ],
        "float32",
    )
    expected_rows = [[0, slots + 0], [2, slots + 1], [1, slots + 3], [3, slots + 3]]
    expected = np.stack([np.concatenate([table[r] for r in rows]) for rows in expected_rows])
    np.testing.assert_array_equal(layer(numeric).numpy(), expected)
