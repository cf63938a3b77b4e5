"""The Keras training metrics agree with scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from components.modules.keras_metrics import BalancedAccuracy, MacroF1


def _skewed_predictions(seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(5, size=300, p=[0.7, 0.2, 0.06, 0.03, 0.01])
    logits = rng.normal(size=(300, 5)).astype("float32")
    logits[np.arange(300), labels] += rng.normal(1.0, 1.0, size=300).astype("float32")
    return labels, logits


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("metric_class", "expected_fn"),
    [
        (MacroF1, lambda y, p: f1_score(y, p, average="macro")),
        (BalancedAccuracy, balanced_accuracy_score),
    ],
)
def test_streaming_metric_matches_scikit_learn_across_batches(seed, metric_class, expected_fn):
    labels, logits = _skewed_predictions(seed)
    metric = metric_class(num_classes=5)
    for start in range(0, 300, 64):
        metric.update_state(labels[start : start + 64], logits[start : start + 64])
    expected = expected_fn(labels, logits.argmax(axis=1))
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0
