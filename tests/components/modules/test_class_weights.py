"""Class weights, tested by their properties and against scikit-learn."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from components.modules.class_weights import class_priors, class_weights

SHUTTLE_TRAIN = [36469, 7122, 2614, 137, 40, 10, 8]


def test_balanced_matches_scikit_learn():
    labels = np.repeat(np.arange(len(SHUTTLE_TRAIN)), SHUTTLE_TRAIN)
    expected = compute_class_weight("balanced", classes=np.arange(7), y=labels)
    weights = class_weights(SHUTTLE_TRAIN, "balanced", max_weight=np.inf)
    np.testing.assert_allclose(weights, expected)


@pytest.mark.parametrize("strategy", ["balanced", "effective_number"])
def test_weighted_example_count_is_n(strategy):
    weights = class_weights(SHUTTLE_TRAIN, strategy, max_weight=np.inf)
    assert np.dot(weights, SHUTTLE_TRAIN) == pytest.approx(sum(SHUTTLE_TRAIN))


def test_balanced_gives_every_class_the_same_total_weight():
    weights = class_weights(SHUTTLE_TRAIN, "balanced", max_weight=np.inf)
    totals = weights * SHUTTLE_TRAIN
    np.testing.assert_allclose(totals, totals[0])


@pytest.mark.parametrize("strategy", ["none", "balanced", "effective_number"])
def test_duplicating_every_example_changes_nothing_but_effective_number(strategy):
    once = class_weights(SHUTTLE_TRAIN, strategy, max_weight=np.inf)
    twice = class_weights(np.multiply(SHUTTLE_TRAIN, 2), strategy, max_weight=np.inf)
    if strategy == "effective_number":
        assert not np.allclose(once, twice)  # it depends on absolute counts by design
    else:
        np.testing.assert_allclose(once, twice)


def test_effective_number_lies_between_none_and_balanced():
    balanced = class_weights(SHUTTLE_TRAIN, "balanced", max_weight=np.inf)
    effective = class_weights(SHUTTLE_TRAIN, "effective_number", beta=0.999, max_weight=np.inf)
    assert effective[-1] < balanced[-1]  # rarest class: damped
    assert effective[-1] > effective[0]  # but still above the majority
    np.testing.assert_allclose(class_weights(SHUTTLE_TRAIN, "effective_number", beta=0.0), 1.0)
    near_balanced = class_weights(SHUTTLE_TRAIN, "effective_number", beta=1 - 1e-9, max_weight=1e9)
    np.testing.assert_allclose(near_balanced, balanced, rtol=1e-3)


def test_clipping_bounds_the_largest_weight():
    weights = class_weights(SHUTTLE_TRAIN, "balanced", max_weight=50.0)
    assert weights.max() == 50.0
    assert weights[0] == pytest.approx(sum(SHUTTLE_TRAIN) / (7 * SHUTTLE_TRAIN[0]))


def test_priors_sum_to_one():
    assert class_priors([3, 1]).tolist() == [0.75, 0.25]


@pytest.mark.parametrize(
    ("counts", "strategy", "message"),
    [
        ([5, 0], "balanced", "must all be positive"),
        ([5, 1], "inverse", "must be one of"),
    ],
)
def test_bad_arguments(counts, strategy, message):
    with pytest.raises(ValueError, match=message):
        class_weights(counts, strategy)


def test_sqrt_weights_follow_the_inverse_square_root_and_keep_n():
    counts = [400, 100, 4]
    weights = class_weights(counts, "sqrt")
    assert weights[1] / weights[0] == pytest.approx(2.0)  # 4x rarer: 2x the weight
    assert weights[2] / weights[0] == pytest.approx(10.0)
    assert float(np.dot(weights, counts)) == pytest.approx(sum(counts))
