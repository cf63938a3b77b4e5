"""Imbalance losses and the macro-F1 metric against hand computations and scikit-learn."""

import keras
import numpy as np
import pytest

from components.modules.losses import ImbalanceLoss

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0], [-2.0, 4.0, 0.0]], "float32")
LABELS = np.array([0, 2, 1, 0])


def _per_example(loss, labels=LABELS, logits=LOGITS):
    return np.asarray(loss.call(labels, logits))


def _cross_entropy(logits, labels):
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


def test_unweighted_cross_entropy_is_keras_sparse_cross_entropy():
    loss = ImbalanceLoss("cross_entropy", [1.0, 1.0, 1.0])
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, LOGITS)
    assert float(loss(LABELS, LOGITS)) == pytest.approx(float(expected), rel=1e-5)


def test_class_weights_scale_each_example_by_its_true_class():
    weights = [2.0, 0.5, 10.0]
    loss = _per_example(ImbalanceLoss("cross_entropy", weights))
    expected = _cross_entropy(LOGITS, LABELS) * np.take(weights, LABELS)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_focal_loss_down_weights_easy_examples():
    ce = _cross_entropy(LOGITS, LABELS)
    p_true = np.exp(-ce)
    focal = _per_example(ImbalanceLoss("focal", [1.0, 2.0, 3.0], focal_gamma=2.0))
    np.testing.assert_allclose(
        focal, np.take([1.0, 2.0, 3.0], LABELS) * (1 - p_true) ** 2 * ce, rtol=1e-5
    )
    gamma_zero = _per_example(ImbalanceLoss("focal", [1.0, 1.0, 1.0], focal_gamma=0.0))
    np.testing.assert_allclose(gamma_zero, ce, rtol=1e-5)


def test_logit_adjustment_adds_tau_log_prior_to_the_logits():
    priors = np.array([0.7, 0.2, 0.1])
    adjusted = _per_example(
        ImbalanceLoss("logit_adjusted", [1, 1, 1], priors=priors, logit_tau=1.5)
    )
    expected = _cross_entropy(LOGITS + 1.5 * np.log(priors).astype("float32"), LABELS)
    np.testing.assert_allclose(adjusted, expected, rtol=1e-5)
    uniform = _per_example(ImbalanceLoss("logit_adjusted", [1, 1, 1], priors=[1 / 3] * 3))
    np.testing.assert_allclose(uniform, _cross_entropy(LOGITS, LABELS), rtol=1e-5)


def test_unknown_loss_and_missing_priors_are_rejected():
    with pytest.raises(ValueError, match="loss must be one of"):
        ImbalanceLoss("hinge", [1.0])
    with pytest.raises(ValueError, match="needs the class priors"):
        ImbalanceLoss("logit_adjusted", [1.0])


PARENTS = [0, 1, 1]  # class 0 alone, classes 1 and 2 share superclass 1


def test_the_superclass_term_adds_the_weighted_log_loss_of_the_summed_probabilities():
    probabilities = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    superclass_probabilities = np.stack(
        [probabilities[:, 0], probabilities[:, 1] + probabilities[:, 2]], axis=1
    )
    parents = np.take(PARENTS, LABELS)
    superclass_weights = [0.5, 3.0]
    loss = ImbalanceLoss(
        "cross_entropy",
        [1.0, 2.0, 1.0],
        parent_index=PARENTS,
        superclass_weights=superclass_weights,
        superclass_loss_weight=0.7,
    )
    expected = _cross_entropy(LOGITS, LABELS) * np.take([1.0, 2.0, 1.0], LABELS) + 0.7 * np.take(
        superclass_weights, parents
    ) * -np.log(superclass_probabilities[np.arange(len(LABELS)), parents])
    np.testing.assert_allclose(_per_example(loss), expected, rtol=1e-5)


def test_without_superclass_weights_the_term_takes_each_examples_class_weight_as_hxe():
    """w[y] * (-log p(y|S) - e^alpha * log p(S)): Bertinetto et al.'s HXE, lambda = e^alpha - 1."""
    probabilities = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    superclass_probabilities = np.stack(
        [probabilities[:, 0], probabilities[:, 1] + probabilities[:, 2]], axis=1
    )
    rows, parents = np.arange(len(LABELS)), np.take(PARENTS, LABELS)
    p_superclass = superclass_probabilities[rows, parents]
    p_within = probabilities[rows, LABELS] / p_superclass
    class_weights, alpha = np.array([1.0, 2.0, 4.0]), 0.5
    levels = -np.log(p_within) - np.exp(alpha) * np.log(p_superclass)
    hxe = np.take(class_weights, LABELS) * levels
    loss = ImbalanceLoss(
        "cross_entropy",
        class_weights,
        parent_index=PARENTS,
        superclass_weights=None,
        superclass_loss_weight=np.exp(alpha) - 1,
    )
    np.testing.assert_allclose(_per_example(loss), hxe, rtol=1e-5)


def test_a_mistake_within_the_superclass_costs_less_than_one_across():
    hierarchical = ImbalanceLoss(
        "cross_entropy",
        [1.0] * 3,
        parent_index=PARENTS,
        superclass_weights=[1.0, 1.0],
        superclass_loss_weight=1.0,
    )
    near, far = np.array([[0.0, 3.0, 0.0]], "float32"), np.array([[3.0, 0.0, 0.0]], "float32")
    label = np.array([2])  # true class 2: predicting 1 stays in its superclass, 0 does not
    assert _per_example(hierarchical, label, near) < _per_example(hierarchical, label, far)
    flat = ImbalanceLoss("cross_entropy", [1.0] * 3)
    np.testing.assert_allclose(_per_example(flat, label, near), _per_example(flat, label, far))


def test_weight_zero_is_the_flat_loss():
    flat = ImbalanceLoss("focal", [1.0, 2.0, 3.0])
    zero = ImbalanceLoss(
        "focal",
        [1.0, 2.0, 3.0],
        parent_index=PARENTS,
        superclass_weights=[1.0, 1.0],
        superclass_loss_weight=0.0,
    )
    np.testing.assert_allclose(_per_example(zero), _per_example(flat))
