"""The gradient-boosted trees family: fit with scikit-learn, served as plain TensorFlow.

scikit-learn's HistGradientBoostingClassifier fits the trees (the baseline users
compare with, and a well-kept library); its number of boosting rounds is chosen
on the validation rows, as the MLP's epochs are. The fitted trees are then
copied into `TreeEnsemble`, which walks them with gather and compare ops only,
so the export needs neither scikit-learn nor a custom op at serving time (ydf's
TensorFlow export needs its own op, which stock TF Serving does not have).
"""

import logging
import time
from typing import Any

import numpy as np
import tensorflow as tf
from sklearn.ensemble import HistGradientBoostingClassifier

from components.modules import features, progress
from components.modules.ensemble import log_loss, macro_f1


def tree_feature_keys(feature_spec: dict[str, Any]) -> list[str]:
    """The features the trees split on, in key order: the z-scores and the categorical indices.

    The quantile positions are left out: a monotone map of the z-scores, they
    offer a tree no new cut. Categorical indices are split on as numbers.
    """
    return sorted(key for key in feature_spec if key != features.QUANTILE_POSITIONS_KEY)


def feature_matrix(columns: dict[str, Any], keys: list[str]) -> np.ndarray:
    """[rows, all columns] float32 from the [rows, columns] features, in `keys` order."""
    return np.concatenate([np.asarray(columns[key], dtype=np.float32) for key in keys], axis=1)


CURVE_ROWS = 5000  # fit rows the trees' train curve is scored on: the curve, not the choice


def fit_trees(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    sample_weight: np.ndarray,
    x_validation: np.ndarray,
    y_validation: np.ndarray,
    num_classes: int,
    hparams: dict[str, Any],
) -> tuple[HistGradientBoostingClassifier, np.ndarray, dict[str, Any]]:
    """Boosts `gbt_max_iterations` rounds, then keeps the round with the best validation
    macro-F1.

    One fit, then one pass over the rounds on the validation rows: stopping
    early would mean fitting in warm-started chunks, and scikit-learn re-bins the
    data and re-predicts every earlier round at each chunk (on kddcup, 25-round
    chunks took 236 s and 50-round ones 184 s, where one fit of all 200 rounds
    and the pass took 141 s, for the same trees).

    Returns the fitted model (trimmed to the best round), its probabilities on the
    validation rows and a summary for training.json, with learning curves: macro-F1
    and log-loss per round on the validation rows and on up to CURVE_ROWS fit rows.
    """
    start = time.monotonic()
    model = _classifier(hparams)
    model.max_iter = hparams["gbt_max_iterations"]
    with progress.boosting_rounds("boosting round"):
        _fit(model, x_fit, y_fit, sample_weight, num_classes)
    sample = np.random.default_rng(hparams["seed"]).permutation(len(y_fit))[:CURVE_ROWS]
    curves = {"macro_f1": [], "val_macro_f1": [], "loss": [], "val_loss": []}
    staged = zip(
        model.staged_predict_proba(x_fit[sample]),
        model.staged_predict_proba(x_validation),
        strict=True,
    )
    scores = curves["val_macro_f1"]
    choosing = progress.Progress("choosing the round", model.max_iter)
    for train_probabilities, probabilities in staged:
        curves["macro_f1"].append(macro_f1(y_fit[sample], train_probabilities))
        curves["loss"].append(log_loss(y_fit[sample], train_probabilities))
        curves["val_loss"].append(log_loss(y_validation, probabilities))
        scores.append(macro_f1(y_validation, probabilities))
        if scores[-1] > max(scores[:-1], default=-1.0):  # the first of equal scores stays
            best_probabilities = probabilities
        choosing.step(len(scores))
    best = int(np.argmax(scores)) + 1
    del _rounds(model)[best:]  # the rounds after the best one are not served
    summary = {
        "rounds_fitted": len(scores),
        "best_round": best,
        "best_val_macro_f1": float(scores[best - 1]),
        "seconds": round(time.monotonic() - start, 1),
    }
    logging.info("Gradient-boosted trees: %s", summary)
    summary["curves"] = {name: [round(v, 5) for v in values] for name, values in curves.items()}
    return model, best_probabilities, summary


def refit_trees(
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    rounds: int,
    num_classes: int,
    hparams: dict[str, Any],
) -> HistGradientBoostingClassifier:
    """Boosts `rounds` rounds on all the given rows, with no look at held-out rows."""
    model = _classifier(hparams)
    model.max_iter = rounds
    with progress.boosting_rounds("refit round"):
        return _fit(model, x, y, sample_weight, num_classes)


def _classifier(hparams: dict[str, Any]) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=hparams["gbt_learning_rate"],
        max_leaf_nodes=hparams["gbt_max_leaf_nodes"],
        min_samples_leaf=hparams["gbt_min_samples_leaf"],
        l2_regularization=hparams["gbt_l2"],
        early_stopping=False,
        random_state=hparams["seed"],
        verbose=1,  # its round markers are read as progress (progress.boosting_rounds)
    )


def _fit(
    model: HistGradientBoostingClassifier,
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    num_classes: int,
) -> HistGradientBoostingClassifier:
    """Fits, refusing rows that lack a class: the trees' outputs must line up with the labels."""
    model.fit(x, y, sample_weight=sample_weight)
    if not np.array_equal(model.classes_, np.arange(num_classes)):
        raise ValueError(f"the fit rows hold classes {model.classes_}, not 0..{num_classes - 1}")
    return model


def _rounds(model: HistGradientBoostingClassifier) -> list[list[Any]]:
    """The fitted trees, one list per boosting round, one tree per class (one if binary).

    scikit-learn keeps them in a private attribute; setup.py pins the version and
    tests/components/modules/test_trees.py checks the copy predicts as the original.
    """
    return model._predictors  # noqa: SLF001


def tree_arrays(model: HistGradientBoostingClassifier) -> dict[str, np.ndarray]:
    """All trees as flat node arrays, child indices global, leaves pointing at themselves."""
    nodes, roots, tree_class = [], [], []
    offset = 0
    for rounds in _rounds(model):
        for class_index, predictor in enumerate(rounds):
            tree = predictor.nodes
            if tree["is_categorical"].any():
                raise ValueError("categorical splits are not exported; features are numeric")
            leaf = tree["is_leaf"].astype(bool)
            own = np.arange(len(tree)) + offset
            nodes.append(
                {
                    "feature": np.where(leaf, 0, tree["feature_idx"]).astype(np.int32),
                    "threshold": tree["num_threshold"].astype(np.float64),
                    "missing_left": tree["missing_go_to_left"].astype(bool),
                    "left": np.where(leaf, own, tree["left"].astype(np.int64) + offset),
                    "right": np.where(leaf, own, tree["right"].astype(np.int64) + offset),
                    "value": np.where(leaf, tree["value"], 0.0).astype(np.float32),
                }
            )
            roots.append(offset)
            tree_class.append(class_index)
            offset += len(tree)
    arrays = {key: np.concatenate([n[key] for n in nodes]) for key in nodes[0]}
    arrays["left"] = arrays["left"].astype(np.int32)
    arrays["right"] = arrays["right"].astype(np.int32)
    arrays["roots"] = np.asarray(roots, dtype=np.int32)
    arrays["tree_class"] = np.asarray(tree_class, dtype=np.int32)
    # The raw score before the first round, per class: private too, see _rounds.
    baseline = model._baseline_prediction  # noqa: SLF001
    arrays["baseline"] = np.asarray(baseline, np.float32).reshape(-1)
    arrays["tree_depth"] = np.asarray(
        [int(p.nodes["depth"].max()) for rounds in _rounds(model) for p in rounds], np.int32
    )
    return arrays


class TreeEnsemble(tf.Module):
    """Class logits of boosted trees from transformed features, in TensorFlow ops only.

    Every row walks a group of trees at once: one step of gather-compare-select
    per level, leaves pointing at themselves. Trees are grouped by depth, each
    group walking only as deep as its trees go: boosted trees vary in depth (on
    kddcup 4 levels on average, 13 at most), so walking all of them to the
    deepest one's depth did three times the work. Thresholds compare in
    float64, as scikit-learn does, so a value at a threshold goes the same way
    in both.
    """

    def __init__(self, model: HistGradientBoostingClassifier, feature_keys: list[str]):
        super().__init__(name="tree_ensemble")
        self.feature_keys = list(feature_keys)
        arrays = tree_arrays(model)
        self.binary = len(_rounds(model)[0]) == 1  # one tree per round: two classes
        tree_depth, tree_class = arrays.pop("tree_depth"), arrays.pop("tree_class")
        roots, num_classes = arrays.pop("roots"), len(arrays["baseline"])
        self.arrays = {key: tf.constant(value) for key, value in arrays.items()}
        self.groups = [  # (depth, the group's roots, [trees, classes] one-hot of their class)
            (
                int(depth),
                tf.constant(roots[tree_depth == depth]),
                tf.constant(np.eye(num_classes, dtype=np.float32)[tree_class[tree_depth == depth]]),
            )
            for depth in np.unique(tree_depth)
        ]

    def __call__(self, transformed: dict[str, tf.Tensor]) -> tf.Tensor:
        a = self.arrays
        x = tf.concat([tf.cast(transformed[key], tf.float64) for key in self.feature_keys], axis=1)
        batch = tf.shape(x)[0]
        raw = a["baseline"][tf.newaxis, :]
        for depth, roots, per_class in self.groups:
            node = tf.tile(roots[tf.newaxis, :], [batch, 1])  # [batch, trees of the group]
            for _ in range(depth):
                values = tf.gather(x, tf.gather(a["feature"], node), batch_dims=1)
                go_left = tf.where(
                    tf.math.is_nan(values),
                    tf.gather(a["missing_left"], node),
                    values <= tf.gather(a["threshold"], node),
                )
                node = tf.where(go_left, tf.gather(a["left"], node), tf.gather(a["right"], node))
            raw = raw + tf.matmul(tf.gather(a["value"], node), per_class)
        if self.binary:  # the one tree per round gives the log-odds of class 1
            return tf.concat([tf.zeros_like(raw), raw], axis=1)
        return raw
