"""The model's piecewise-linear encoding of numeric columns."""

import numpy as np
import pytest

from components.modules.model import PiecewiseLinearEmbedding


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
