"""Which model the Trainer exports: the family alone, or the average weighted on validation."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import f1_score
from sklearn.metrics import log_loss as sklearn_log_loss

from components.modules import ensemble

LABELS = np.array([0, 0, 1, 1, 2, 2, 0, 1])


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_equals_scikit_learn_with_classes_never_true_or_never_predicted(seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(5, 300, p=[0.6, 0.25, 0.1, 0.05, 0.0])  # class 4 never true
    scores = rng.random((300, 6))  # class 5 never true; some classes never predicted
    scores[np.arange(300), labels] += rng.random(300) * 0.8
    expected = f1_score(labels, scores.argmax(axis=1), average="macro")
    assert ensemble.macro_f1(labels, scores) == pytest.approx(expected, abs=1e-12)


def _member(logits_by_row: np.ndarray):
    """A member that looks its logits up by the row id feature."""
    table = tf.constant(logits_by_row, tf.float32)
    return lambda features: tf.gather(table, tf.reshape(features["row_xf"], [-1]))


def _features(rows: int = len(LABELS)):
    return {"row_xf": tf.reshape(tf.range(rows, dtype=tf.int64), [-1, 1])}


def _logits(predicted: list[int], confidence: float = 2.0) -> np.ndarray:
    return np.eye(3)[predicted] * confidence


def _scores(members: dict) -> dict[str, np.ndarray]:
    """Each member's validation probabilities, as the Trainer hands them to combine."""
    return {name: ensemble.probabilities(m, _features()) for name, m in members.items()}


def test_one_family_is_exported_as_it_is_with_its_validation_probabilities():
    logits = _logits([0, 0, 1, 1, 2, 2, 0, 2])
    member = _member(logits)
    validation, selection = ensemble.combine(_scores({"gbt": member}), LABELS)
    assert selection == {} and ensemble.assemble({"gbt": member}, None) is member
    np.testing.assert_allclose(validation, tf.nn.softmax(logits).numpy(), atol=1e-6)


def test_when_each_family_is_right_where_the_other_is_wrong_the_average_wins():
    # The MLP is sure and wrong on rows 6-7, the trees unsure and wrong on rows 0-1.
    mlp = _logits([0, 0, 1, 1, 2, 2, 1, 0], confidence=1.0)
    trees = _logits([1, 1, 1, 1, 2, 2, 0, 1], confidence=0.3)
    mlp[[6, 7]] *= 0.2
    members = {"mlp": _member(mlp), "gbt": _member(trees)}
    validation, selection = ensemble.combine(_scores(members), LABELS)
    model = ensemble.assemble(members, selection["tree_weight"])
    assert ensemble.macro_f1(LABELS, validation) == 1.0
    assert selection["val_macro_f1_by_tree_weight"][str(selection["tree_weight"])] == 1.0
    assert selection["val_macro_f1_by_tree_weight"]["0.0"] < 1.0
    assert selection["val_macro_f1_by_tree_weight"]["1.0"] < 1.0
    assert isinstance(model, ensemble.ProbabilityAverage)
    assert model.tree_weight == selection["tree_weight"] and 0 < model.tree_weight < 1
    np.testing.assert_allclose(ensemble.probabilities(model, _features()), validation, atol=1e-6)


def test_a_tie_keeps_the_plain_average_and_a_clear_winner_is_exported_alone():
    right = _member(_logits(list(LABELS)))
    _, selection = ensemble.combine(_scores({"mlp": right, "gbt": right}), LABELS)
    assert selection["tree_weight"] == 0.5
    average = ensemble.assemble({"mlp": right, "gbt": right}, 0.5)
    assert isinstance(average, ensemble.ProbabilityAverage)
    # Sure and wrong against unsure and right: only the trees alone get every row.
    wrong = _member(_logits([2, 2, 0, 0, 1, 1, 2, 0], confidence=20.0))
    unsure = _member(_logits(list(LABELS), confidence=0.3))
    members = {"mlp": wrong, "gbt": unsure}
    validation, selection = ensemble.combine(_scores(members), LABELS)
    assert selection["tree_weight"] == 1.0
    assert ensemble.assemble(members, 1.0) is unsure and ensemble.assemble(members, 0.0) is wrong
    assert ensemble.macro_f1(LABELS, validation) == 1.0


def test_the_average_is_the_weighted_mean_of_the_probabilities():
    rng = np.random.default_rng(0)
    mlp, trees = rng.normal(size=(5000, 3)), rng.normal(size=(5000, 3))
    average = ensemble.ProbabilityAverage(_member(mlp), _member(trees), 0.25)
    features = _features(5000)
    expected = 0.75 * tf.nn.softmax(mlp).numpy() + 0.25 * tf.nn.softmax(trees).numpy()
    # probabilities() goes in batches of PREDICT_BATCH_SIZE; 5000 rows take three.
    np.testing.assert_allclose(ensemble.probabilities(average, features), expected, atol=1e-6)


def test_log_loss_is_scikit_learns():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(4), size=50)
    labels = rng.integers(0, 4, size=50)
    expected = sklearn_log_loss(labels, probabilities, labels=range(4))
    assert ensemble.log_loss(labels, probabilities) == pytest.approx(expected, rel=1e-6)
