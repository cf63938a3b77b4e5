"""The Trainer module code on real Transform output: class data, the input pipeline, run_fn.

The class names and counts come out of the transform graph, not the raw data,
and run_fn is the one place where counts turn into weights and a model into
the files that travel with it; so these run against a tiny data set pushed
through the real preprocessing_fn, with FnArgs built the way TFX builds them.
"""

import collections
import dataclasses
import json
import os

import keras
import keras_tuner
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, f1_score
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.utils import io_utils

from components.modules import assets, ensemble, features, training, trees
from components.modules.class_weights import class_weights
from components.modules.features import QUANTILE_POSITIONS_KEY as QUANTILE_POSITIONS
from components.modules.hierarchy import Hierarchy
from components.modules.training import (
    SelectionSplit,
    TrainingData,
    apply_tuned_values,
    batches,
    build_and_compile,
    find_integer_categories,
    fit_steps,
    learning_rate_callbacks,
    load_examples,
    make_optimizer,
    row_bytes,
    run_fn,
    sample_rows,
    validation_rows,
)
from tests.components.modules import transformed_data as td


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> td.TransformedData:
    return td.shared(tmp_path_factory)


@pytest.fixture(scope="module")
def training_data(data) -> TrainingData:
    return TrainingData.load(data.transform_output)


def _train_counts(data) -> dict[str, int]:
    return data.train[td.LABEL].value_counts().to_dict()


def _file_labels(data, split_name: str) -> list[int]:
    """Label indices in the order the transformed examples sit in the split's files."""
    files = tf.io.gfile.glob(data.split_files(split_name))
    spec = {features.LABEL_KEY: tf.io.FixedLenFeature([1], tf.int64)}
    return [
        int(tf.io.parse_single_example(record, spec)[features.LABEL_KEY][0])
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    ]


def _x1(columns: dict[str, tf.Tensor]) -> np.ndarray:
    """The transformed x1 per row: the first of the numeric columns (x1, x2, zone in key order)."""
    return columns[features.NUMERIC_KEY].numpy()[:, 0]


def _rows(batches: tf.data.Dataset) -> list[tuple[float, int]]:
    """(x1, label) per row, in dataset order: x1 is continuous, so it identifies a row."""
    return [
        (float(x1), int(label))
        for features_batch, labels in batches
        for x1, label in zip(_x1(features_batch), labels.numpy().ravel(), strict=True)
    ]


# TrainingData


def test_class_names_follow_the_vocabulary_and_counts_are_the_train_counts(training_data, data):
    counts = _train_counts(data)
    # The label vocabulary is ordered by train frequency, most frequent first.
    assert training_data.class_names == sorted(counts, key=counts.get, reverse=True)
    assert training_data.class_counts == [counts[name] for name in training_data.class_names]
    assert sum(training_data.class_counts) == len(data.train)  # eval rows are not counted


def test_features_exclude_the_label_and_vocabularies_count_the_oov_bucket(training_data):
    assert set(training_data.feature_spec) == {features.NUMERIC_KEY, "color_xf", QUANTILE_POSITIONS}
    assert training_data.feature_spec[features.NUMERIC_KEY].shape == [3]  # x1, x2, zone
    assert training_data.vocabulary_sizes == {"color_xf": 3 + 1}  # red, green, blue + OOV


@pytest.mark.parametrize(
    ("limit", "numeric_columns", "expected"),
    [
        (32, [], {2: 3}),  # zone, the third numeric column, with its values 1, 2 and 3
        (32, ["zone"], {}),  # kept a number by config
        (2, [], {}),  # more values than allowed
        (0, [], {}),  # off
    ],
)
def test_low_cardinality_int_columns_are_found_and_floats_never(
    data, fn_args, limit, numeric_columns, expected
):
    config = td.custom_config(training={"integer_categories_max": limit})
    config["numeric_columns"] = numeric_columns
    columns, _ = load_examples(fn_args.train_files, fn_args, data.transform_output)
    raw_spec = data.transform_output.raw_feature_spec()
    found = find_integer_categories(raw_spec, config, columns)
    assert {position: len(values) for position, values in found.items()} == expected
    for position, values in found.items():  # the train values, as the model will see them
        column = columns[features.NUMERIC_KEY].numpy()[:, position]
        np.testing.assert_array_equal(values, np.unique(column))


@pytest.mark.parametrize(
    "strategy, beta, max_weight",
    [
        ("none", 0.999, 100.0),
        ("balanced", 0.999, 3.0),
        ("sqrt", 0.999, 100.0),
        ("effective_number", 0.9, 100.0),
    ],
)
def test_weights_are_the_class_weights_of_the_train_counts(
    training_data, data, strategy, beta, max_weight
):
    counts = _train_counts(data)
    hparams = {
        "class_weights": strategy,
        "effective_number_beta": beta,
        "max_class_weight": max_weight,
    }
    expected = class_weights(
        [counts[name] for name in training_data.class_names], strategy, beta, max_weight
    )
    np.testing.assert_allclose(training_data.weights(hparams), expected)


# optimisers, schedules and penalties


def _training(**changes) -> dict:
    return td.custom_config(training=changes)["training"]


@pytest.mark.parametrize(
    ("name", "kind", "settings"),
    [
        ("adam", keras.optimizers.Adam, {"weight_decay": None}),
        ("adamw", keras.optimizers.AdamW, {"weight_decay": 0.004}),
        ("sgd", keras.optimizers.SGD, {"momentum": 0.8, "nesterov": True}),
        ("rmsprop", keras.optimizers.RMSprop, {"momentum": 0.8}),
        ("adagrad", keras.optimizers.Adagrad, {}),
    ],
)
def test_each_optimizer_gets_its_own_settings(name, kind, settings):
    hparams = _training(
        optimizer=name, momentum=0.8, weight_decay=0.004 if name == "adamw" else 0.0
    )
    optimizer = make_optimizer(hparams, steps=100)
    assert type(optimizer) is kind
    assert float(optimizer.learning_rate) == pytest.approx(hparams["learning_rate"])
    for key, value in settings.items():
        assert (
            getattr(optimizer, key) == pytest.approx(value)
            if value
            else not getattr(optimizer, key)
        )


def test_cosine_decays_the_rate_to_zero_over_the_fit_and_plateau_halves_it():
    hparams = _training(learning_rate_schedule="cosine")
    optimizer = make_optimizer(hparams, steps=200)
    rates = []
    for step in (0, 100, 200):
        optimizer.iterations.assign(step)
        rates.append(float(optimizer.learning_rate))
    rate = hparams["learning_rate"]
    assert rates == pytest.approx([rate, rate / 2, 0.0], abs=1e-7)
    assert learning_rate_callbacks(_training(), "val_macro_f1") == []
    (plateau,) = learning_rate_callbacks(
        _training(learning_rate_schedule="plateau", early_stopping_patience=8), "val_macro_f1"
    )
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.monitor, plateau.mode, plateau.factor, plateau.patience) == (
        "val_macro_f1",
        "max",
        0.5,
        4,
    )
    assert fit_steps(1000, _training(batch_size=256), epochs=3) == 12


def test_l1_and_l2_together_are_an_elastic_net_on_every_hidden_kernel(training_data):
    model = build_and_compile(training_data, _training(l1=0.01, l2=0.001), steps=10)
    hidden = [layer for layer in model.layers if getattr(layer, "kernel_regularizer", None)]
    assert len(hidden) == len(_training()["hidden_units"])
    for layer in hidden:
        penalty = layer.kernel_regularizer
        assert isinstance(penalty, keras.regularizers.L1L2)
        assert (penalty.l1, penalty.l2) == pytest.approx((0.01, 0.001))
    plain = build_and_compile(training_data, _training(), steps=10)
    assert not [layer for layer in plain.layers if getattr(layer, "kernel_regularizer", None)]


# apply_tuned_values


@pytest.mark.parametrize(
    "depth, width, hidden_units",
    [(3, 64, [64, 32, 16]), (1, 16, [16]), (4, 32, [32, 16, 8, 8])],
)
def test_depth_and_width_become_halving_layers_of_at_least_8_units(depth, width, hidden_units):
    tuned = apply_tuned_values({"hidden_units": [1]}, {"depth": depth, "width": width})
    assert tuned["hidden_units"] == hidden_units
    assert "depth" not in tuned and "width" not in tuned


def test_other_tuned_values_override_and_the_rest_stay():
    hparams = {"hidden_units": [64, 32], "learning_rate": 0.003, "loss": "cross_entropy", "l2": 0}
    tuned = apply_tuned_values(hparams, {"learning_rate": 0.01, "loss": "focal"})
    assert tuned == {"hidden_units": [64, 32], "learning_rate": 0.01, "loss": "focal", "l2": 0}
    assert hparams["learning_rate"] == 0.003  # the caller's dict is left alone


# the validation part and the batches


@pytest.mark.parametrize("seed", [0, 1])
def test_validation_rows_take_the_share_of_every_class_that_can_spare_one(seed):
    labels = np.array([0] * 100 + [1] * 10 + [2] * 3 + [3] * 2 + [4])
    held_out = validation_rows(labels, 15, seed)
    per_class = {label: int(held_out[labels == label].sum()) for label in range(5)}
    assert per_class == {0: 15, 1: 2, 2: 1, 3: 1, 4: 0}  # the single row stays in training
    assert (validation_rows(labels, 15, seed) == held_out).all()  # reproducible from the seed
    assert (validation_rows(labels, 15, seed + 2) != held_out).any()


@pytest.fixture(scope="module")
def fn_args(data, tmp_path_factory):
    return td.fn_args(data, str(tmp_path_factory.mktemp("dataset_fn_args")))


@pytest.fixture(scope="module")
def hparams():
    return td.custom_config(training={"batch_size": 32})["training"]


@pytest.fixture(scope="module")
def split(data, fn_args, hparams):
    """(fit rows, validation rows, sizes) as run_fn and tuner_fn see them."""
    split = SelectionSplit.load(fn_args, data.transform_output, hparams)
    return (
        _rows(split.fit_batches(hparams)),
        _rows(split.validation_batches(hparams)),
        split.sizes(),
    )


def test_selection_uses_a_stratified_part_of_train_and_never_the_eval_split(split, data, fn_args):
    fit, validation, sizes = split
    train_rows, _ = load_examples(fn_args.train_files, fn_args, data.transform_output)
    eval_rows, _ = load_examples(fn_args.eval_files, fn_args, data.transform_output)
    fit_x1, validation_x1 = {x1 for x1, _ in fit}, {x1 for x1, _ in validation}
    assert not fit_x1 & validation_x1  # disjoint
    assert sorted(fit + validation) == sorted(  # together: exactly the train split
        zip(_x1(train_rows).tolist(), _file_labels(data, "train"), strict=True)
    )
    assert not set(_x1(eval_rows).tolist()) & (fit_x1 | validation_x1)
    assert sizes == {"fit_examples": len(fit), "validation_examples": len(validation)}
    counts = collections.Counter(label for _, label in validation)
    train_counts = collections.Counter(_file_labels(data, "train"))
    assert counts == {label: round(n * 0.15) for label, n in train_counts.items()}


def test_batches_have_the_batch_size_every_feature_and_labels_in_range(
    data, fn_args, hparams, training_data
):
    columns, labels = load_examples(fn_args.train_files, fn_args, data.transform_output)
    rows = np.arange(len(labels))
    batched = list(batches(columns, labels, rows, hparams, shuffle=True))
    sizes = [int(batch_labels.shape[0]) for _, batch_labels in batched]
    full, rest = divmod(len(data.train), 32)
    assert sizes == [32] * full + ([rest] if rest else [])
    num_classes = len(training_data.class_names)
    for batch, batch_labels in batched:
        assert set(batch) == set(training_data.feature_spec)
        for key, values in batch.items():
            numeric = key in (features.NUMERIC_KEY, QUANTILE_POSITIONS)
            width = 3 if numeric else 1  # x1, x2 and zone; one index for the category
            assert values.shape == (batch_labels.shape[0], width), key
        assert 0 <= int(tf.reduce_min(batch_labels))
        assert int(tf.reduce_max(batch_labels)) < num_classes


def test_without_shuffle_the_rows_come_in_the_given_order(data, fn_args, hparams):
    columns, labels = load_examples(fn_args.eval_files, fn_args, data.transform_output)
    order = np.arange(len(labels))[::-1]
    rows = _rows(batches(columns, labels, order, hparams, shuffle=False))
    assert [label for _, label in rows] == _file_labels(data, "eval")[::-1]


def test_shuffle_permutes_the_rows(data, fn_args, hparams):
    columns, labels = load_examples(fn_args.train_files, fn_args, data.transform_output)
    rows = np.arange(len(labels))
    unshuffled = _rows(batches(columns, labels, rows, hparams, shuffle=False))
    shuffled = _rows(batches(columns, labels, rows, hparams, shuffle=True))
    assert shuffled != unshuffled
    assert sorted(shuffled) == sorted(unshuffled)


def test_max_examples_takes_exactly_that_many_rows_the_same_in_every_epoch(data, fn_args, hparams):
    columns, labels = load_examples(fn_args.train_files, fn_args, data.transform_output)
    rows = np.arange(len(labels))
    subsample = batches(columns, labels, rows, hparams, shuffle=True, max_examples=50)
    first_epoch, second_epoch = _rows(subsample), _rows(subsample)
    assert len(first_epoch) == 50
    assert sorted(first_epoch) == sorted(second_epoch)


# A train split above training.max_in_memory_mb


def test_row_bytes_are_the_bytes_the_rows_take_in_memory(data, fn_args, training_data):
    columns, labels = load_examples(fn_args.train_files, fn_args, data.transform_output)
    held = sum(column.numpy().nbytes for column in columns.values()) + labels.nbytes
    assert row_bytes(training_data.feature_spec) * len(labels) == held


@pytest.mark.parametrize("seed", [0, 1])
def test_the_in_memory_sample_keeps_small_classes_whole_and_the_rest_at_one_rate(seed):
    labels = np.repeat([0, 1, 2], [100_000, 20_000, 900])
    kept = sample_rows(labels, 12_000, seed)
    assert np.bincount(labels[kept]).tolist() == [9_926, 1_985, 900]  # rate 12,000 / 120,900


@pytest.fixture(scope="module")
def streamed(data, fn_args, hparams, training_data):
    """The split of a train split three times larger than the memory allowed: 60 rows."""
    memory_mb = 60 * row_bytes(training_data.feature_spec) / 2**20
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "MIN_CLASS_ROWS", 5)
        return SelectionSplit.load(
            fn_args, data.transform_output, {**hparams, "max_in_memory_mb": memory_mb}
        )


def test_a_large_train_split_streams_every_fit_row_and_holds_a_sample(streamed, data, split):
    fit, validation, sizes = split  # of the same rows, all in memory
    streamed_fit = _rows(streamed.fit_batches({**td.custom_config()["training"], "batch_size": 32}))
    streamed_validation = _rows(streamed.validation_batches({"batch_size": 32}))
    # Every train row once: the validation rows, sampled, and the rest streamed.
    assert sorted(streamed_fit + streamed_validation) == sorted(fit + validation)
    assert set(streamed_validation) <= set(validation)  # the same stratified rows, thinned
    assert len(streamed.labels) < len(data.train) / 2  # held in memory: about 60 rows
    counts = collections.Counter(_file_labels(data, "train"))
    held = collections.Counter(streamed.labels.tolist())
    assert held[min(counts, key=counts.get)] == 5  # the rare class's 12 rows: MIN_CLASS_ROWS
    assert streamed.sizes() == {
        "fit_examples": len(streamed_fit),
        "validation_examples": len(streamed_validation),
    }


def test_streamed_rows_are_reshuffled_every_epoch(streamed, hparams):
    batches_of_an_epoch = streamed.fit_batches(hparams)
    first, second = _rows(batches_of_an_epoch), _rows(batches_of_an_epoch)
    assert first != second
    assert sorted(first) == sorted(second)


def test_a_tuner_trial_on_a_large_split_takes_its_sample_from_memory(streamed, hparams):
    rows = _rows(streamed.fit_batches(hparams, max_examples=10))
    assert len(rows) == 10


@pytest.fixture(scope="module")
def trained_streaming(data, tmp_path_factory, training_data):
    """An ensemble trained on a train split three times larger than the memory allowed."""
    memory_mb = 60 * row_bytes(training_data.feature_spec) / 2**20
    config = td.custom_config(training={"model": "ensemble", "max_in_memory_mb": memory_mb})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "MIN_CLASS_ROWS", 5)
        args, model_uri = _run(data, tmp_path_factory.mktemp("run_fn_streaming"), config)
    return args, model_uri, config


def test_a_streamed_run_trains_both_families_to_the_end(trained_streaming, data):
    args, model_uri, _ = trained_streaming
    summary = assets.read_training_summary(model_uri)
    assert summary["fit_examples"] > summary["families"]["gbt"]["fit_rows"]  # the trees: a sample
    assert summary["memory"]["streamed"] is True
    assert (
        summary["memory"]["train_split_mb"] > 2.9 * summary["hyperparameters"]["max_in_memory_mb"]
    )
    assert summary["memory"]["peak_rss_mb"] > 0
    epochs = summary["families"]["mlp"]["epochs_trained"]
    assert epochs > summary["hyperparameters"]["early_stopping_patience"]  # not cut short
    predicted = _served_predictions(args.serving_model_dir, data.eval)
    assert balanced_accuracy_score(data.eval[td.LABEL], predicted) > 0.8


# run_fn


def _run(data, working_dir, config, hyperparameters=None):
    """Runs run_fn; returns (fn_args, the Model artifact URI that holds Format-Serving)."""
    args = td.fn_args(data, str(working_dir), config, hyperparameters)
    run_fn(args)
    return args, os.path.dirname(args.serving_model_dir)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    config = td.custom_config(training={"model": "mlp"})
    args, model_uri = _run(data, tmp_path_factory.mktemp("run_fn"), config)
    return args, model_uri, config


def test_run_fn_writes_a_saved_model_its_tensorboard_logs_and_the_class_names(trained, data):
    args, model_uri, _ = trained
    assert tf.saved_model.contains_saved_model(args.serving_model_dir)
    assert os.listdir(args.model_run_dir)  # the TensorBoard callback's logs
    assert assets.read_class_names(model_uri) == ["common", "middle", "rare"]


def test_training_summary_records_classes_weights_and_epochs(trained, training_data, data):
    _, model_uri, config = trained
    summary = assets.read_training_summary(model_uri)
    counts = _train_counts(data)
    assert summary["class_names"] == training_data.class_names
    assert summary["class_counts"] == [counts[name] for name in summary["class_names"]]
    expected_weights = training_data.weights(config["training"])
    assert list(summary["class_weights"]) == summary["class_names"]
    np.testing.assert_allclose(list(summary["class_weights"].values()), expected_weights)
    assert summary["class_weights"]["rare"] > summary["class_weights"]["common"]
    epochs = config["training"]["epochs"]
    assert summary["model"] == "mlp" and list(summary["families"]) == ["mlp"]
    mlp = summary["families"]["mlp"]
    assert 1 <= mlp["epochs_trained"] <= epochs
    assert 1 <= mlp["best_epoch"] <= mlp["epochs_trained"]
    assert 0.0 <= mlp["best_val_macro_f1"] <= 1.0
    assert mlp["seconds"] > 0
    assert len(mlp["epoch_seconds"]) == mlp["epochs_trained"]
    assert 0 < sum(mlp["epoch_seconds"]) <= mlp["seconds"]
    curves = mlp["curves"]  # per epoch, for the report's learning curves
    assert set(curves) == {"macro_f1", "val_macro_f1", "loss", "val_loss"}
    assert all(len(values) == mlp["epochs_trained"] for values in curves.values())
    assert max(curves["val_macro_f1"]) == pytest.approx(mlp["best_val_macro_f1"], abs=1e-5)
    assert summary["tuned"] is False
    assert summary["hyperparameters"] == config["training"]
    assert summary["integer_categories"] == {"zone": 3}  # embedded per value


def test_the_schema_travels_with_the_model(trained):
    args, model_uri, _ = trained
    copied = assets.read_schema(model_uri)
    original = io_utils.parse_pbtxt_file(args.schema_path, schema_pb2.Schema())
    assert copied == original
    assert {feature.name for feature in copied.feature} == set(td.RAW_FEATURE_SPEC)


def _served_predictions(serving_model_dir: str, frame) -> list[str]:
    serve = tf.saved_model.load(serving_model_dir).signatures["serving_default"]
    outputs = serve(examples=tf.constant(td.serialized_examples(frame, with_label=False)))
    classes = [name.decode() for name in outputs["classes"].numpy()[0]]
    return [classes[i] for i in np.argmax(outputs["scores"].numpy(), axis=1)]


def test_the_exported_model_beats_chance_on_eval(trained, data):
    args, _, _ = trained
    predicted = _served_predictions(args.serving_model_dir, data.eval)
    # Chance is 1/3; the classes are several standard deviations apart.
    assert balanced_accuracy_score(data.eval[td.LABEL], predicted) > 0.8


@pytest.fixture(scope="module")
def trained_ensemble(data, tmp_path_factory):
    # Without the trees' refit, the served model is the one selection scored; and
    # uncalibrated, so its scores are the ensemble's own.
    config = td.custom_config(
        training={"model": "ensemble", "gbt_refit": False, "calibration": "none"}
    )
    args, model_uri = _run(data, tmp_path_factory.mktemp("run_fn_ensemble"), config)
    return args, model_uri, config


def test_an_ensemble_run_fits_both_families_and_records_the_weight_it_chose(trained_ensemble):
    _, model_uri, config = trained_ensemble
    summary = assets.read_training_summary(model_uri)
    assert summary["model"] == "ensemble" and set(summary["families"]) == {"mlp", "gbt"}
    gbt = summary["families"]["gbt"]
    assert 1 <= gbt["best_round"] <= gbt["rounds_fitted"]
    hparams = config["training"]
    assert gbt["rounds_fitted"] == hparams["gbt_max_iterations"]
    by_weight = summary["val_macro_f1_by_tree_weight"]
    assert set(by_weight) == {str(w) for w in ensemble.TREE_WEIGHTS}
    assert summary["val_macro_f1"] == max(by_weight.values())
    assert by_weight[str(summary["tree_weight"])] == summary["val_macro_f1"]
    # Each family's own best, its weight alone, is one of the candidates.
    assert by_weight["1.0"] == pytest.approx(gbt["best_val_macro_f1"])
    curves = gbt["curves"]  # per round: macro-F1 and log-loss on fit and validation rows
    assert all(len(values) == gbt["rounds_fitted"] for values in curves.values())
    assert curves["val_macro_f1"][gbt["best_round"] - 1] == pytest.approx(
        gbt["best_val_macro_f1"], abs=1e-5
    )
    assert curves["loss"][-1] < curves["loss"][0]  # boosting fits the fit rows ever closer


@pytest.fixture(scope="module")
def trained_with_offsets(data, tmp_path_factory):
    config = td.custom_config(
        training={
            "model": "gbt",
            "decision_offsets": "macro_f1",
            "gbt_refit": False,
            "calibration": "temperature",
        }
    )
    args, model_uri = _run(data, tmp_path_factory.mktemp("run_fn_offsets"), config)
    return args, model_uri, config


@pytest.fixture(scope="module")
def trained_gbt(data, tmp_path_factory):
    """The default family with its defaults: the trees refit on all train rows."""
    config = td.custom_config(training={"model": "gbt"})
    args, model_uri = _run(data, tmp_path_factory.mktemp("run_fn_gbt"), config)
    return args, model_uri, config


def test_the_served_trees_are_refit_on_all_train_rows_after_selection(
    trained_gbt, trained_with_offsets, data, fn_args, training_data
):
    args, model_uri, config = trained_gbt
    hparams = config["training"]
    summary = assets.read_training_summary(model_uri)
    gbt = summary["families"]["gbt"]
    train_rows = summary["fit_examples"] + summary["validation_examples"]
    expected_rounds = round(gbt["best_round"] * train_rows / summary["fit_examples"])
    assert gbt["refit"]["rounds"] == expected_rounds and gbt["refit"]["rows"] == len(data.train)
    # Selection is the same as without the refit (same seed, same rows): only the
    # served trees change.
    unrefit = assets.read_training_summary(trained_with_offsets[1])["families"]["gbt"]
    assert (gbt["best_round"], gbt["best_val_macro_f1"]) == (
        unrefit["best_round"],
        unrefit["best_val_macro_f1"],
    )
    # What is served is scikit-learn's fit on every train row for those rounds.
    columns, labels = load_examples(fn_args.train_files, fn_args, data.transform_output)
    keys = trees.tree_feature_keys(training_data.feature_spec)
    reference = trees.refit_trees(
        trees.feature_matrix(columns, keys),
        labels,
        training_data.weights(hparams)[labels],
        expected_rounds,
        len(training_data.class_names),
        hparams,
    )
    model = tf.saved_model.load(args.serving_model_dir)
    examples = tf.constant(td.serialized_examples(data.eval, with_label=True))
    eval_columns = model.signatures["transform_features"](examples=examples)
    # ... with the temperature the default calibration fitted on the validation rows.
    temperature = summary["calibration"]["temperature"]
    expected = softmax(
        np.log(reference.predict_proba(trees.feature_matrix(eval_columns, keys))) / temperature,
        axis=1,
    )
    np.testing.assert_allclose(
        model.signatures["serving_default"](examples=examples)["scores"].numpy(),
        expected,
        atol=1e-5,
    )


def test_decision_offsets_are_checked_on_halves_and_recorded(trained_with_offsets, training_data):
    _, model_uri, _ = trained_with_offsets
    report = assets.read_training_summary(model_uri)["decision_offsets"]
    assert report["objective"] == "macro_f1"
    assert len(report["offsets"]) == len(training_data.class_names)
    assert len(report["gains_on_the_other_half"]) == 2
    assert report["accepted"] == all(g > 0 for g in report["gains_on_the_other_half"])
    if not report["accepted"]:
        assert report["offsets"] == [0.0] * len(training_data.class_names)


def test_a_temperature_is_fitted_on_validation_after_the_offsets(trained_with_offsets, trained):
    calibrated = assets.read_training_summary(trained_with_offsets[1])["calibration"]
    assert calibrated["temperature"] != 1.0 and 0.05 <= calibrated["temperature"] <= 20
    before, after = calibrated["val_log_loss"]
    assert after <= before  # fitted on exactly these rows
    default = assets.read_training_summary(trained[1])["calibration"]  # temperature, guarded
    assert default["kept"] == all(g > 0 for g in default["log_loss_gains_on_the_other_half"])
    if not default["kept"]:
        assert default["temperature"] == 1.0
        assert default["val_log_loss"][0] == default["val_log_loss"][1]


def test_calibration_none_serves_the_scores_as_trained(trained_ensemble):
    summary = assets.read_training_summary(trained_ensemble[1])["calibration"]
    assert summary["temperature"] == 1.0 and "kept" not in summary
    assert summary["val_log_loss"][0] == summary["val_log_loss"][1]


@pytest.mark.parametrize("run", ["trained", "trained_ensemble", "trained_with_offsets"])
def test_the_export_is_the_model_selected_on_the_validation_rows(run, request, data, split):
    """Early stopping, boosting rounds, the ensemble weight and decision offsets are all
    chosen on the validation part of train; the served model scores exactly the recorded
    macro-F1 there."""
    args, model_uri, _ = request.getfixturevalue(run)
    model = tf.saved_model.load(args.serving_model_dir)
    with_labels = tf.constant(td.serialized_examples(data.train, with_label=True))
    x1 = _x1(model.signatures["transform_features"](examples=with_labels))
    _, validation, _ = split
    validation_x1 = np.array([value for value, _ in validation])
    chosen = np.isclose(x1[:, None], validation_x1[None, :], atol=1e-6).any(axis=1)
    assert chosen.sum() == len(validation)
    predicted = _served_predictions(args.serving_model_dir, data.train[chosen])
    summary = assets.read_training_summary(model_uri)
    assert summary["validation_examples"] == len(validation)
    assert f1_score(data.train[td.LABEL][chosen], predicted, average="macro") == pytest.approx(
        summary["val_macro_f1"], abs=1e-6
    )


def test_the_tuners_best_hyperparameters_replace_the_configured_ones(data, tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("loss", "focal")
    hp.Fixed("depth", 1)
    hp.Fixed("width", 16)
    hp.Fixed("learning_rate", 0.01)
    config = td.custom_config(training={"model": "mlp", "epochs": 2, "loss": "cross_entropy"})
    # The Trainer reads the Tuner's best_hyperparameters artifact as JSON.
    hyperparameters = json.loads(json.dumps(hp.get_config()))
    _, model_uri = _run(data, tmp_path, config, hyperparameters)
    summary = assets.read_training_summary(model_uri)
    used = summary["hyperparameters"]
    assert (used["loss"], used["hidden_units"], used["learning_rate"]) == ("focal", [16], 0.01)
    assert used["batch_size"] == config["training"]["batch_size"]  # untuned values stay
    assert summary["tuned"] is True
    assert summary["families"]["mlp"]["epochs_trained"] <= 2


def test_with_a_hierarchy_the_mlp_serves_superclass_scores_that_sum_its_classes(tmp_path):
    parents = {"common": "frequent", "middle": "scarce", "rare": "scarce", "x": "y"}
    data = td.build(
        str(tmp_path / "data"), transform_config={**td.TRANSFORM_CONFIG, "hierarchy": parents}
    )
    config = td.custom_config(training={"model": "mlp", "epochs": 3, "superclass_loss_weight": 1.0})
    args, model_uri = _run(data, tmp_path, config)
    assert assets.read_hierarchy(model_uri) == {
        "superclasses": ["frequent", "scarce"],
        "parent_index": [0, 1, 1],
    }
    summary = assets.read_training_summary(model_uri)
    assert summary["superclass_of"] == {"common": "frequent", "middle": "scarce", "rare": "scarce"}
    model = tf.saved_model.load(args.serving_model_dir)
    examples = tf.constant(td.serialized_examples(data.eval, with_label=False))
    served = model.signatures["serving_default"](examples=examples)
    scores = served["scores"].numpy()
    np.testing.assert_allclose(
        served["superclass_scores"].numpy(),
        np.stack([scores[:, 0], scores[:, 1] + scores[:, 2]], axis=1),
        rtol=1e-6,
    )
    assert [s.decode() for s in served["superclasses"].numpy()[0]] == ["frequent", "scarce"]


def test_without_a_hierarchy_serving_has_only_the_classes(trained):
    args, model_uri, _ = trained
    assert assets.read_hierarchy(model_uri) is None
    outputs = tf.saved_model.load(args.serving_model_dir).signatures["serving_default"]
    assert set(outputs.structured_outputs) == {"scores", "classes"}


def test_with_a_hierarchy_the_mlp_loss_adds_the_superclass_term(training_data):
    parents = {"common": "frequent", "middle": "scarce", "rare": "scarce"}
    data = dataclasses.replace(
        training_data, hierarchy=Hierarchy.for_classes(parents, training_data.class_names)
    )
    hparams = _training(superclass_loss_weight=0.5, superclass_weighting="same")
    loss = build_and_compile(data, hparams, steps=10).loss
    assert loss.superclass_loss_weight == 0.5 and loss.parent_index == [0, 1, 1]
    superclass_counts = data.hierarchy.superclass_counts(data.class_counts)
    expected = class_weights(
        superclass_counts,
        hparams["class_weights"],
        beta=hparams["effective_number_beta"],
        max_weight=hparams["max_class_weight"],
    )
    np.testing.assert_allclose(loss.superclass_weights, expected)
    default = build_and_compile(data, _training(), steps=10).loss
    assert default.superclass_loss_weight == 1.0 and default.superclass_weights == [1.0, 1.0]
    flat = build_and_compile(data, _training(superclass_loss_weight=0.0), steps=10).loss
    assert flat.superclass_loss_weight == 0.0


@pytest.mark.parametrize(("weighting", "expected"), [("none", [1.0, 1.0]), ("class", None)])
def test_superclass_weighting_none_weighs_every_superclass_1_and_class_defers_to_the_classes(
    training_data, weighting, expected
):
    parents = {"common": "frequent", "middle": "scarce", "rare": "scarce"}
    data = dataclasses.replace(
        training_data, hierarchy=Hierarchy.for_classes(parents, training_data.class_names)
    )
    hparams = _training(superclass_loss_weight=1.0, superclass_weighting=weighting)
    loss = build_and_compile(data, hparams, steps=10).loss
    assert loss.superclass_weights == expected
    assert loss.class_weights == data.weights(hparams).tolist()  # the fine term is unchanged
