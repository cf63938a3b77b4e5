"""The boosted trees: rounds chosen on validation, and the TensorFlow copy predicting
exactly as scikit-learn does, at thresholds, for missing values and for two classes."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score

from components.modules import features, trees

HPARAMS = {
    "gbt_learning_rate": 0.1,
    "gbt_max_iterations": 40,
    "gbt_max_leaf_nodes": 15,
    "gbt_min_samples_leaf": 5,
    "gbt_l2": 0.0,
    "seed": 3,
}


def _data(num_classes: int, rows: int = 1500, seed: int = 0):
    """Four columns; the third takes few distinct values, so rows sit on thresholds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    x[:, 2] = rng.integers(0, 5, rows)
    y = np.digitize(x[:, 0] + 0.5 * x[:, 2] * x[:, 1], [-1.0, 0.5, 1.5, 2.5]) % num_classes
    x[rng.random(rows) < 0.05, 3] = np.nan  # the fit sees missing values in one column
    return x, y


def _fit(num_classes: int):
    x, y = _data(num_classes)
    fit, validation = slice(0, 1000), slice(1000, None)
    model, _, summary = trees.fit_trees(
        x[fit], y[fit], np.ones(1000), x[validation], y[validation], num_classes, HPARAMS
    )
    return model, summary, x, y


def _reference(rounds: int) -> HistGradientBoostingClassifier:
    """scikit-learn's trees with HPARAMS, boosted `rounds` rounds in one go."""
    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=rounds,
        max_leaf_nodes=15,
        min_samples_leaf=5,
        l2_regularization=0.0,
        early_stopping=False,
        random_state=3,
    )


def _tf_probabilities(model, x: np.ndarray) -> np.ndarray:
    keys = [f"c{i}_xf" for i in range(x.shape[1])]
    ensemble = trees.TreeEnsemble(model, keys)
    columns = {key: tf.constant(x[:, i : i + 1]) for i, key in enumerate(keys)}
    return tf.nn.softmax(ensemble(columns)).numpy()


@pytest.mark.parametrize("num_classes", [2, 4])
def test_the_tensorflow_trees_predict_as_scikit_learn(num_classes):
    model, _, x, _ = _fit(num_classes)
    np.testing.assert_allclose(_tf_probabilities(model, x), model.predict_proba(x), atol=1e-5)


def test_values_on_a_threshold_and_missing_values_take_scikit_learns_branch():
    model, _, x, _ = _fit(4)
    arrays = trees.tree_arrays(model)
    splits = arrays["left"] != np.arange(len(arrays["left"]))
    probes = x[:200].copy()
    # Every probe row sits exactly on some split threshold of column 0 or 2 (as float32).
    for column in (0, 2):
        thresholds = arrays["threshold"][splits & (arrays["feature"] == column)]
        probes[:, column] = np.resize(thresholds.astype(np.float32), len(probes))
    probes[::3, 1] = np.nan  # never missing when fitted
    probes[1::3, 3] = np.nan
    np.testing.assert_allclose(
        _tf_probabilities(model, probes), model.predict_proba(probes), atol=1e-5
    )


def test_the_kept_round_is_the_best_on_validation_and_later_rounds_are_dropped():
    x, y = _data(4)
    fit, validation = slice(0, 1000), slice(1000, None)
    model, probabilities, summary = trees.fit_trees(
        x[fit], y[fit], np.ones(1000), x[validation], y[validation], 4, HPARAMS
    )
    # What selection scores: the kept model's own validation probabilities.
    np.testing.assert_allclose(probabilities, model.predict_proba(x[validation]), atol=1e-12)
    assert summary["rounds_fitted"] == HPARAMS["gbt_max_iterations"]
    assert model.n_iter_ == summary["best_round"]
    reference = _reference(40).fit(x[fit], y[fit])
    staged = [
        f1_score(y[validation], p.argmax(axis=1), average="macro")
        for p in reference.staged_predict_proba(x[validation])
    ]
    assert summary["best_round"] == int(np.argmax(staged)) + 1
    assert summary["best_val_macro_f1"] == pytest.approx(max(staged))


def test_a_refit_boosts_the_given_rounds_on_all_the_rows_it_is_given():
    x, y = _data(3, seed=2)
    weights = np.where(y == 2, 3.0, 1.0)
    model = trees.refit_trees(x, y, weights, 7, 3, HPARAMS)
    reference = _reference(7).fit(x, y, sample_weight=weights)
    assert model.n_iter_ == 7
    np.testing.assert_allclose(model.predict_proba(x), reference.predict_proba(x), atol=1e-12)
    with pytest.raises(ValueError, match="not 0..2"):
        trees.refit_trees(x[y != 1], y[y != 1], weights[y != 1], 7, 3, HPARAMS)


def test_class_weights_are_sample_weights():
    x, y = _data(3, seed=1)
    weights = np.where(y == 2, 20.0, 1.0)
    unweighted, _, _ = trees.fit_trees(x, y, np.ones(len(y)), x, y, 3, HPARAMS)
    weighted, _, _ = trees.fit_trees(x, y, weights, x, y, 3, HPARAMS)
    assert (weighted.predict(x) == 2).sum() > (unweighted.predict(x) == 2).sum()


def test_fitting_without_a_class_is_refused():
    x, y = _data(3)
    kept = y != 1
    with pytest.raises(ValueError, match="not 0..2"):
        trees.fit_trees(x[kept], y[kept], np.ones(kept.sum()), x, y, 3, HPARAMS)


def test_the_trees_split_on_the_z_scores_and_categories_not_the_quantile_positions():
    spec = {features.NUMERIC_KEY: None, features.QUANTILE_POSITIONS_KEY: None, "color_xf": None}
    assert trees.tree_feature_keys(spec) == ["color_xf", features.NUMERIC_KEY]
    columns = {features.NUMERIC_KEY: np.array([[1.5, 2.0], [3.0, 4.0]]), "color_xf": [[0], [1]]}
    matrix = trees.feature_matrix(columns, ["color_xf", features.NUMERIC_KEY])
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[0.0, 1.5, 2.0], [1.0, 3.0, 4.0]])


def test_the_tree_copy_saves_and_loads_with_tensorflow_alone(tmp_path):
    model, _, x, _ = _fit(4)
    keys = [f"c{i}_xf" for i in range(x.shape[1])]
    module = trees.TreeEnsemble(model, keys)
    spec = {key: tf.TensorSpec([None, 1], tf.float32) for key in keys}
    module.logits = tf.function(module.__call__, input_signature=[spec])
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    columns = {key: tf.constant(x[:, i : i + 1]) for i, key in enumerate(keys)}
    np.testing.assert_allclose(
        tf.nn.softmax(loaded.logits(columns)).numpy(), model.predict_proba(x), atol=1e-5
    )
