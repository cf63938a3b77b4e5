"""What the Trainer exports: one family's model, or a weighted average of both families.

The weight of the trees in the average is chosen on the validation rows, from a
short list (an average of the two first, so a tie keeps it); a weight of 0 or 1
exports one family alone, which is then all that serving runs.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

Member = Callable[[dict[str, tf.Tensor]], tf.Tensor]  # transformed features -> class logits

TREE_WEIGHTS = (0.5, 0.25, 0.75, 0.0, 1.0)  # tried in this order; a tie keeps the earlier
PREDICT_BATCH_SIZE = 2048  # rows per call: the trees hold [rows, trees] node indices


class ProbabilityAverage(tf.Module):
    """Logits whose softmax is (1 - w) * p_mlp + w * p_trees: the log of the average."""

    def __init__(self, mlp: Member, trees: Member, tree_weight: float):
        super().__init__(name="probability_average")
        self.mlp, self.trees, self.tree_weight = mlp, trees, tree_weight

    def __call__(self, transformed: dict[str, tf.Tensor]) -> tf.Tensor:
        average = (1.0 - self.tree_weight) * tf.nn.softmax(
            self.mlp(transformed)
        ) + self.tree_weight * tf.nn.softmax(self.trees(transformed))
        return tf.math.log(tf.maximum(average, 1e-30))


def probabilities(member: Member, features: dict[str, tf.Tensor]) -> np.ndarray:
    """Softmax of a member's logits, [rows, classes], computed in batches."""
    rows = int(next(iter(features.values())).shape[0])
    parts = []
    for start in range(0, rows, PREDICT_BATCH_SIZE):
        batch = {key: value[start : start + PREDICT_BATCH_SIZE] for key, value in features.items()}
        parts.append(tf.nn.softmax(member(batch)).numpy())
    return np.concatenate(parts)


def macro_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """Macro-F1 of the argmax of per-class scores (probabilities or their logs).

    As scikit-learn's f1_score(average="macro"), over the classes that are true or
    predicted, with F1 = 2 TP / (true + predicted); from counts, because the trees'
    round choice and the decision offsets call it hundreds of times, where
    f1_score's input checks took seconds.
    """
    predicted = scores.argmax(axis=1)
    num_classes = scores.shape[1]
    true_counts = np.bincount(labels, minlength=num_classes)
    predicted_counts = np.bincount(predicted, minlength=num_classes)
    hits = np.bincount(labels[labels == predicted], minlength=num_classes)
    present = (true_counts + predicted_counts) > 0
    return float(np.mean(2 * hits[present] / (true_counts[present] + predicted_counts[present])))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean negative log-probability of the true class (unweighted cross-entropy)."""
    true = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.maximum(true, 1e-15))))


def combine(
    scores: dict[str, np.ndarray], validation_labels: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The validation probabilities of the model to export and, for two families, its weight.

    Args:
      scores: "mlp", "gbt" or both: each family's probabilities on the validation
        rows, [rows, classes], from the model selection scores.

    Returns:
      The probabilities, and {} or the chosen `tree_weight` with the macro-F1 of
      every weight tried; `assemble` builds the model from it.
    """
    if len(scores) == 1:
        return next(iter(scores.values())), {}
    mixed = {
        weight: (1.0 - weight) * scores["mlp"] + weight * scores["gbt"] for weight in TREE_WEIGHTS
    }
    by_weight = {weight: macro_f1(validation_labels, mixed[weight]) for weight in TREE_WEIGHTS}
    best = max(TREE_WEIGHTS, key=by_weight.get)  # the first of equal scores
    return (
        mixed[best],
        {
            "tree_weight": best,
            "val_macro_f1_by_tree_weight": {str(w): s for w, s in by_weight.items()},
        },
    )


def assemble(members: dict[str, Member], tree_weight: float | None) -> Member:
    """The one member, or both averaged with the trees' weight (0 or 1: one of them alone)."""
    if len(members) == 1:
        return next(iter(members.values()))
    if tree_weight in (0.0, 1.0):
        return members["gbt" if tree_weight else "mlp"]
    return ProbabilityAverage(members["mlp"], members["gbt"], tree_weight)
