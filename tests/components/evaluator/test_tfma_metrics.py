"""The Evaluator's confusion-matrix metrics agree with scikit-learn, NaN where TFMA's are."""

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_recall_fscore_support,
)
from tensorflow_model_analysis.metrics.multi_class_confusion_matrix_metrics import (
    NO_PREDICTED_CLASS_ID,
    MatrixEntryKey,
)

from components.evaluator.tfma_metrics import (
    ARGMAX,
    PER_CLASS,
    ClassMetric,
    counts,
    cross_superclass_share,
    superclass_counts,
    value,
)


def _matrices(labels, predicted) -> dict:
    """TFMA's multi-class confusion matrix at the argmax threshold, as its combiner builds it."""
    entries = {}
    for actual, guess in zip(labels, predicted, strict=True):
        key = MatrixEntryKey(int(actual), int(guess))
        entries[key] = entries.get(key, 0.0) + 1.0
    return {ARGMAX: entries}


def _values(labels, predicted, num_classes):
    confusion, examples = counts(_matrices(labels, predicted), num_classes)
    return {
        kind: value(kind, confusion, examples, None)
        for kind in ("accuracy", "balanced_accuracy", "macro_precision", "macro_f1")
    } | {
        (kind, c): value(kind, confusion, examples, c)
        for kind in PER_CLASS
        for c in range(num_classes)
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_values_match_scikit_learn_on_skewed_classes(seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(4, size=500, p=[0.8, 0.15, 0.04, 0.01])
    predicted = np.where(rng.random(500) < 0.7, labels, rng.choice(4, size=500))
    found = _values(labels, predicted, 4)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=range(4))
    for c in range(4):
        assert found[("precision", c)] == pytest.approx(precision[c])
        assert found[("recall", c)] == pytest.approx(recall[c])
        assert found[("f1", c)] == pytest.approx(f1[c])
    assert found["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert found["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predicted))
    assert found["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))


def test_nan_where_tfma_gives_nan():
    """Class 2 is never predicted, class 3 has no examples and is never predicted."""
    found = _values([0, 0, 1, 2], [0, 1, 1, 0], 4)
    assert math.isnan(found[("precision", 2)]) and found[("recall", 2)] == 0.0
    assert found[("f1", 2)] == 0.0
    assert math.isnan(found[("recall", 3)]) and math.isnan(found[("f1", 3)])
    assert math.isnan(found["macro_precision"]) and math.isnan(found["macro_f1"])
    assert found["accuracy"] == 0.5


def test_an_example_without_prediction_is_a_miss():
    found = _values([0, 1], [0, NO_PREDICTED_CLASS_ID], 2)
    assert found[("recall", 1)] == 0.0 and found["accuracy"] == 0.5
    assert found[("precision", 0)] == 1.0


def test_an_example_of_a_class_unknown_to_training_counts_for_no_class():
    """Its prediction is a false positive; it is no example of any class (TFMA's rules)."""
    found = _values([0, 1, -1], [0, 1, 1], 2)
    assert found[("precision", 1)] == 0.5 and found[("recall", 1)] == 1.0
    assert found["accuracy"] == 1.0


def test_per_class_metrics_need_a_class_and_kinds_are_checked():
    with pytest.raises(ValueError, match="binarized by class_ids"):
        ClassMetric("recall", 3).computations(model_names=[""], output_names=[""])
    with pytest.raises(ValueError, match="unknown class metric"):
        ClassMetric("auc", 3)


def test_superclass_metrics_are_the_metrics_of_the_parents():
    """Against scikit-learn on labels and predictions mapped to their superclasses."""
    parent_index = [0, 1, 1, 2, 2, 2]
    rng = np.random.default_rng(3)
    labels = rng.choice(6, size=600, p=[0.5, 0.2, 0.1, 0.1, 0.07, 0.03])
    predicted = np.where(rng.random(600) < 0.6, labels, rng.choice(6, size=600))
    confusion, examples = counts(_matrices(labels, predicted), 6)
    upper, upper_examples = superclass_counts(confusion, examples, parent_index)
    up_labels, up_predicted = np.take(parent_index, labels), np.take(parent_index, predicted)
    assert value("accuracy", upper, upper_examples, None) == pytest.approx(
        accuracy_score(up_labels, up_predicted)
    )
    assert value("macro_f1", upper, upper_examples, None) == pytest.approx(
        f1_score(up_labels, up_predicted, average="macro")
    )
    _, recall, _, _ = precision_recall_fscore_support(up_labels, up_predicted, labels=range(3))
    for superclass in range(3):
        assert value("recall", upper, upper_examples, superclass) == pytest.approx(
            recall[superclass]
        )
    wrong = labels != predicted
    crossing = (up_labels != up_predicted)[wrong].mean()
    assert cross_superclass_share(confusion, examples, parent_index) == pytest.approx(crossing)


def test_superclass_metrics_need_the_parents():
    with pytest.raises(ValueError, match="needs the classes' parent_index"):
        ClassMetric("superclass_macro_f1", 3)
    with pytest.raises(ValueError, match="only it, takes a superclass"):
        ClassMetric("superclass_recall", 3, parent_index=[0, 0, 1])
