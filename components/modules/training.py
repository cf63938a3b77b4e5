"""Trainer module code: fits the configured model family on the transformed data (run_fn)
and exports it.

Model selection (early stopping, the trees' rounds, the ensemble weight, decision
offsets, the Tuner's trials) reads a stratified
validation part carved from the train split (`validation_rows`), never the
eval split: that one is the Evaluator's, so the gate tests a model that was
not chosen on it. The Tuner's trials build their models through
build_and_compile and read their data through SelectionSplit, so a
trial trains exactly as the Trainer does.
"""

import dataclasses
import logging
import math
import os
import time
from typing import Any

import keras
import keras_tuner
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components.modules import assets, calibration, ensemble, features, offsets, trees
from components.modules.class_weights import class_priors, class_weights
from components.modules.export import export_model
from components.modules.hierarchy import Hierarchy
from components.modules.keras_metrics import BalancedAccuracy, MacroF1
from components.modules.losses import ImbalanceLoss
from components.modules.model import build_model

EARLY_STOPPING_METRIC = "val_macro_f1"
CURVES = ("macro_f1", "val_macro_f1", "loss", "val_loss")  # per epoch, for learning curves
PARSE_BATCH_SIZE = 4096  # examples parsed per step when the files are first read


@dataclasses.dataclass
class TrainingData:
    """What the transform graph says about the classes and features."""

    class_names: list[str]  # in label-index order
    class_counts: list[int]  # train examples per class, same order
    feature_spec: dict[str, Any]  # transformed features, without the label
    vocabulary_sizes: dict[str, int]  # categorical feature -> number of indices
    # Position in NUMERIC_KEY -> the distinct train z-scores of a low-cardinality int
    # column, which the MLP embeds per value (find_integer_categories).
    integer_categories: dict[int, list[float]] = dataclasses.field(default_factory=dict)
    hierarchy: Hierarchy | None = None  # with data.hierarchy

    @classmethod
    def load(
        cls, transform_output: tft.TFTransformOutput, parents: dict[str, str] | None = None
    ) -> "TrainingData":
        """parents: data.hierarchy's {class: superclass}, empty or None for flat labels."""
        class_names = read_class_vocabulary(transform_output)
        counts = {}
        for line in transform_output.vocabulary_by_name(features.LABEL_COUNTS_VOCABULARY):
            count, name = line.split(b" ", 1)
            counts[name.decode()] = int(count)
        feature_spec = transform_output.transformed_feature_spec()
        feature_spec.pop(features.LABEL_KEY)
        vocabulary_sizes = {
            key: transform_output.vocabulary_size_by_name(key) + 1  # + the OOV bucket
            for key, spec in feature_spec.items()
            if spec.dtype != tf.float32
        }
        hierarchy = Hierarchy.for_classes(parents, class_names) if parents else None
        return cls(
            class_names,
            [counts[n] for n in class_names],
            feature_spec,
            vocabulary_sizes,
            hierarchy=hierarchy,
        )

    def weights(self, hparams: dict[str, Any], counts: list[float] | None = None) -> np.ndarray:
        """Weights of the classes, or of other counts (the superclasses), by the config."""
        return class_weights(
            self.class_counts if counts is None else counts,
            hparams["class_weights"],
            beta=hparams["effective_number_beta"],
            max_weight=hparams["max_class_weight"],
        )


def find_integer_categories(
    raw_feature_spec: dict[str, Any], custom_config: dict[str, Any], columns: dict[str, Any]
) -> dict[int, list[float]]:
    """The int columns with at most `integer_categories_max` distinct train values.

    Integer-coded columns are often categories (FARS: all of them). Their values
    are read from the train split's z-scores, which map one to one to the raw
    ints; `numeric_columns` names int columns that must stay numbers only.

    Returns: position in NUMERIC_KEY -> the column's distinct z-scores, ascending.
    """
    limit = custom_config["training"]["integer_categories_max"]
    if not limit or features.NUMERIC_KEY not in columns:
        return {}
    kept_numeric = set(custom_config.get("numeric_columns", []))
    values = np.asarray(columns[features.NUMERIC_KEY])
    categories = {}
    for position, column in enumerate(_numeric_columns(raw_feature_spec, custom_config)):
        if raw_feature_spec[column].dtype != tf.int64 or column in kept_numeric:
            continue
        distinct = np.unique(values[:, position])
        if len(distinct) <= limit:
            categories[position] = distinct.tolist()
    return categories


def _numeric_columns(raw_feature_spec: dict[str, Any], custom_config: dict[str, Any]) -> list[str]:
    dtypes = {name: spec.dtype for name, spec in raw_feature_spec.items()}
    return features.numeric_columns(dtypes, custom_config)


def apply_tuned_values(hparams: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Training settings with a Tuner trial's values; depth and width become layers."""
    tuned = {**hparams, **{k: v for k, v in values.items() if k not in ("depth", "width")}}
    if "depth" in values and "width" in values:
        tuned["hidden_units"] = [max(8, values["width"] // 2**i) for i in range(values["depth"])]
    return tuned


def build_and_compile(data: TrainingData, hparams: dict[str, Any], steps: int) -> keras.Model:
    """The MLP compiled with the imbalance loss; used by the Trainer and every Tuner trial.

    `steps`: the optimiser steps of the whole fit, over which a cosine schedule decays.
    """
    model = build_model(
        data.feature_spec,
        data.vocabulary_sizes,
        len(data.class_names),
        hparams,
        data.integer_categories,
    )
    hierarchy = {}
    if data.hierarchy is not None:  # the superclass term, weighted by superclass_weighting
        hierarchy = {
            "parent_index": data.hierarchy.parent_index,
            "superclass_weights": superclass_weights(data, hparams),
            "superclass_loss_weight": hparams["superclass_loss_weight"],
        }
    loss = ImbalanceLoss(
        hparams["loss"],
        data.weights(hparams),
        priors=class_priors(data.class_counts),
        focal_gamma=hparams["focal_gamma"],
        logit_tau=hparams["logit_adjustment_tau"],
        **hierarchy,
    )
    num_classes = len(data.class_names)
    model.compile(
        optimizer=make_optimizer(hparams, steps),
        loss=loss,
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            MacroF1(num_classes),
            BalancedAccuracy(num_classes),
        ],
    )
    return model


def superclass_weights(data: TrainingData, hparams: dict[str, Any]) -> np.ndarray | None:
    """The superclass term's weights by training.superclass_weighting.

    same: class_weights over the superclass counts; none: all 1; class: None, each
    example's own class weight (the loss is then Bertinetto et al.'s HXE).
    """
    weighting = hparams["superclass_weighting"]
    if weighting == "class":
        return None
    counts = data.hierarchy.superclass_counts(data.class_counts)
    if weighting == "none":
        return np.ones(len(counts))
    return data.weights(hparams, counts)


OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
}


def make_optimizer(hparams: dict[str, Any], steps: int) -> keras.optimizers.Optimizer:
    """The configured optimiser, its learning rate constant or cosine-decayed over `steps`.

    Keras applies `weight_decay` decoupled from the gradient (Loshchilov & Hutter
    2019) in every optimiser, so Adam with it is AdamW.
    """
    rate = hparams["learning_rate"]
    if hparams["learning_rate_schedule"] == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(1, steps))
    options = {"weight_decay": hparams["weight_decay"] or None}
    if hparams["optimizer"] in ("sgd", "rmsprop"):
        options["momentum"] = hparams["momentum"]
    if hparams["optimizer"] == "sgd":
        options["nesterov"] = hparams["nesterov"]
    return OPTIMIZERS[hparams["optimizer"]](rate, **options)


def learning_rate_callbacks(
    hparams: dict[str, Any], monitor: str
) -> list[keras.callbacks.Callback]:
    """Halves the learning rate when `monitor` (higher is better) stalls, for schedule plateau."""
    if hparams["learning_rate_schedule"] != "plateau":
        return []
    patience = max(1, hparams["early_stopping_patience"] // 2)  # before early stopping ends it
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode="max", factor=0.5, patience=patience, verbose=1
        )
    ]


def fit_steps(examples: int, hparams: dict[str, Any], epochs: int) -> int:
    """Optimiser steps of `epochs` epochs over `examples` rows."""
    return math.ceil(examples / hparams["batch_size"]) * epochs


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point; settings arrive in `fn_args.custom_config`."""
    config = fn_args.custom_config
    hparams = dict(config["training"])
    if fn_args.hyperparameters:
        tuned = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters).values
        hparams = apply_tuned_values(hparams, tuned)
        logging.info("Using the Tuner's best hyperparameters: %s", tuned)
    keras.utils.set_random_seed(hparams["seed"])
    transform_output = tft.TFTransformOutput(fn_args.transform_output)
    data = TrainingData.load(transform_output, config.get("hierarchy"))
    weights = dict(zip(data.class_names, data.weights(hparams).tolist(), strict=True))
    logging.info(
        "Train counts %s, %s class weights %s, loss %s",
        dict(zip(data.class_names, data.class_counts, strict=True)),
        hparams["class_weights"],
        weights,
        hparams["loss"],
    )
    split = SelectionSplit.load(fn_args, transform_output, hparams)
    logging.info(
        "Fitting on %(fit_examples)d rows, selecting on %(validation_examples)d",
        split.sizes(),
    )
    family = hparams["model"]
    # Per family: the served model, and the probabilities selection scores on validation.
    served, scores, reports = {}, {}, {}
    if family in ("mlp", "ensemble"):
        data.integer_categories = find_integer_categories(
            transform_output.raw_feature_spec(), config, split.columns
        )
        served["mlp"], reports["mlp"] = fit_mlp(data, hparams, split, fn_args.model_run_dir)
        scores["mlp"] = ensemble.probabilities(served["mlp"], split.validation_features())
    if family in ("gbt", "ensemble"):
        served["gbt"], scores["gbt"], reports["gbt"] = fit_gbt(data, hparams, split)
    validation_labels = split.labels[split.validation]
    validation_probabilities, selection = ensemble.combine(scores, validation_labels)
    log_probabilities = np.log(np.maximum(validation_probabilities, 1e-30))
    # What serving adds to the logits: post-hoc logit adjustment, then any decision offsets.
    logit_offsets = -hparams["posthoc_logit_adjustment_tau"] * np.log(
        class_priors(data.class_counts)
    )
    if hparams["decision_offsets"] != "none":
        decision_offsets, selection["decision_offsets"] = offsets.guarded_offsets(
            hparams["decision_offsets"],
            validation_labels,
            log_probabilities + logit_offsets,
            hparams["seed"],
        )
        logit_offsets = logit_offsets + decision_offsets
    selection["val_macro_f1"] = ensemble.macro_f1(
        validation_labels, log_probabilities + logit_offsets
    )
    temperature, guard = 1.0, {}  # the scores as the model makes them
    if hparams["calibration"] == "temperature":
        temperature, guard = calibration.guarded_temperature(
            validation_labels, log_probabilities + logit_offsets, hparams["seed"]
        )
    selection["calibration"] = {
        **calibration.calibration_summary(
            validation_labels, log_probabilities + logit_offsets, temperature
        ),
        **guard,
    }
    summary = {
        "class_names": data.class_names,
        "class_counts": data.class_counts,
        "class_weights": weights,
        "hyperparameters": hparams,
        "tuned": bool(fn_args.hyperparameters),
        **split.sizes(),
        "model": family,
        "integer_categories": _category_counts(data, transform_output.raw_feature_spec(), config),
        "families": reports,
        **selection,
    }
    if data.hierarchy is not None:
        summary["superclass_of"] = {
            name: data.hierarchy.superclasses[i]
            for name, i in zip(data.class_names, data.hierarchy.parent_index, strict=True)
        }
    skipped = [config["label"], *config.get("exclude_columns", [])]
    export_model(
        ensemble.assemble(served, selection.get("tree_weight")),
        transform_output,
        data.class_names,
        logit_offsets,
        skipped,
        fn_args.serving_model_dir,
        temperature,
        data.hierarchy,
    )
    assets.write_json(fn_args.serving_model_dir, assets.TRAINING_SUMMARY_FILE, summary)
    # The schema travels with the model, so the next run can check a new drop against it.
    schema_copy = os.path.join(fn_args.serving_model_dir, assets.SCHEMA_FILE)
    tf.io.gfile.copy(fn_args.schema_path, schema_copy, overwrite=True)


def _category_counts(
    data: TrainingData, raw_feature_spec: dict[str, Any], custom_config: dict[str, Any]
) -> dict[str, int]:
    """For training.json: each int column the MLP embeds per value, and its number of values."""
    names = _numeric_columns(raw_feature_spec, custom_config)
    return {names[position]: len(values) for position, values in data.integer_categories.items()}


def fit_mlp(
    data: TrainingData, hparams: dict[str, Any], split: "SelectionSplit", log_dir: str
) -> tuple[keras.Model, dict[str, Any]]:
    """The MLP, early-stopped on validation macro-F1 with its best epoch's weights restored."""
    start = time.monotonic()
    steps = fit_steps(split.sizes()["fit_examples"], hparams, hparams["epochs"])
    model = build_and_compile(data, hparams, steps)
    history = model.fit(
        split.fit_batches(hparams),
        validation_data=split.validation_batches(hparams),
        epochs=hparams["epochs"],
        verbose=2,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor=EARLY_STOPPING_METRIC,
                mode="max",
                patience=hparams["early_stopping_patience"],
                restore_best_weights=True,
            ),
            keras.callbacks.TensorBoard(log_dir=log_dir),
            *learning_rate_callbacks(hparams, EARLY_STOPPING_METRIC),
        ],
    )
    scores = history.history[EARLY_STOPPING_METRIC]
    curves = {name: history.history[name] for name in CURVES}
    return model, {
        "epochs_trained": len(scores),
        "best_epoch": int(np.argmax(scores)) + 1,
        "best_val_macro_f1": float(np.max(scores)),
        "seconds": round(time.monotonic() - start, 1),
        "curves": {name: [round(float(v), 5) for v in values] for name, values in curves.items()},
    }


def fit_gbt(
    data: TrainingData, hparams: dict[str, Any], split: "SelectionSplit"
) -> tuple[trees.TreeEnsemble, np.ndarray, dict[str, Any]]:
    """Boosted trees with the class weights as sample weights, rounds chosen on validation.

    Returns the trees to serve, the validation probabilities of the trees fit
    without the validation rows (what selection scores; scikit-learn's own, which
    the served TensorFlow copy matches) and a summary.

    With `gbt_refit` the served trees are boosted again on all train rows for
    best_round * train rows / fit rows rounds (more rows take more rounds to fit
    as closely): once the validation rows have chosen the rounds, they are worth
    more as training rows, since the eval split and the validation part leave
    the trees two thirds of the data. Nothing is chosen on the validation rows
    with the refit trees, which have seen them.
    """
    keys = trees.tree_feature_keys(data.feature_spec)
    x = trees.feature_matrix(split.columns, keys)
    y = split.labels
    weights = data.weights(hparams)[y]
    num_classes = len(data.class_names)
    fit, validation = split.fit, split.validation
    selected, validation_probabilities, report = trees.fit_trees(
        x[fit], y[fit], weights[fit], x[validation], y[validation], num_classes, hparams
    )
    served = selected
    if hparams["gbt_refit"]:
        start = time.monotonic()
        rounds = max(1, round(report["best_round"] * len(y) / len(fit)))
        served = trees.refit_trees(x, y, weights, rounds, num_classes, hparams)
        report["refit"] = {
            "rounds": rounds,
            "rows": len(y),
            "seconds": round(time.monotonic() - start, 1),
        }
    return trees.TreeEnsemble(served, keys), validation_probabilities, report


def read_class_vocabulary(transform_output: tft.TFTransformOutput) -> list[str]:
    """Class names in index order, from the label vocabulary Transform built."""
    return [
        name.decode() if isinstance(name, bytes) else name
        for name in transform_output.vocabulary_by_name(features.LABEL_VOCABULARY)
    ]


def load_examples(
    file_pattern: list[str],
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
) -> tuple[dict[str, tf.Tensor], np.ndarray]:
    """Reads transformed examples once into one dense tensor per feature, and the labels.

    The transformed features of 400,000 rows and 40 columns take about 65 MB;
    caching or shuffling single examples instead keeps a few hundred bytes of
    tensor overhead per feature and example: gigabytes on large data.
    """
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=PARSE_BATCH_SIZE,
        label_key=features.LABEL_KEY,
        num_epochs=1,
        shuffle=False,
    )
    parsed = list(
        fn_args.data_accessor.tf_dataset_factory(
            file_pattern, options, transform_output.transformed_metadata.schema
        )
    )
    columns = {key: tf.concat([batch[key] for batch, _ in parsed], 0) for key in parsed[0][0]}
    labels = tf.concat([label for _, label in parsed], 0).numpy().reshape(-1)
    return columns, labels


def validation_rows(labels: np.ndarray, percent: float, seed: int) -> np.ndarray:
    """A stratified hold-out of the train split for model selection: a boolean row mask.

    Every class with two or more rows gives round(n * percent / 100) of them, at
    least one and at most n - 1, so early stopping and the Tuner see every class
    that can spare a row; a single row stays in training. The Evaluator's eval
    split is never read here: it is kept for the gate alone.
    """
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        if len(rows) < 2:
            continue
        count = min(len(rows) - 1, max(1, round(len(rows) * percent / 100)))
        held_out[rng.choice(rows, size=count, replace=False)] = True
    return held_out


def batches(
    columns: dict[str, tf.Tensor],
    labels: np.ndarray,
    rows: np.ndarray,
    hparams: dict[str, Any],
    shuffle: bool,
    max_examples: int = 0,
) -> tf.data.Dataset:
    """One epoch of (features, label index) batches of the given rows.

    Every epoch gathers its batches from a fresh permutation of the row indices;
    `max_examples` > 0 keeps a random subsample of that size, the same in every epoch.
    """
    label_tensor = tf.constant(labels)
    if max_examples and max_examples < len(rows):
        rows = np.random.default_rng(hparams["seed"]).choice(rows, max_examples, replace=False)
    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(rows, dtype=np.int64))
    if shuffle:
        dataset = dataset.shuffle(len(rows), seed=hparams["seed"])
    return (
        dataset.batch(hparams["batch_size"])
        .map(
            lambda index: (
                {key: tf.gather(column, index) for key, column in columns.items()},
                tf.gather(label_tensor, index),
            )
        )
        .prefetch(tf.data.AUTOTUNE)
    )


@dataclasses.dataclass
class SelectionSplit:
    """The train split read once, as fit rows and the stratified validation rows."""

    columns: dict[str, tf.Tensor]
    labels: np.ndarray
    fit: np.ndarray  # row indices
    validation: np.ndarray

    @classmethod
    def load(
        cls,
        fn_args: tfx.components.FnArgs,
        transform_output: tft.TFTransformOutput,
        hparams: dict[str, Any],
    ) -> "SelectionSplit":
        columns, labels = load_examples(fn_args.train_files, fn_args, transform_output)
        held_out = validation_rows(labels, hparams["validation_percent"], hparams["seed"])
        return cls(columns, labels, np.flatnonzero(~held_out), np.flatnonzero(held_out))

    def sizes(self) -> dict[str, int]:
        return {"fit_examples": len(self.fit), "validation_examples": len(self.validation)}

    def fit_batches(self, hparams: dict[str, Any], max_examples: int = 0) -> tf.data.Dataset:
        return batches(self.columns, self.labels, self.fit, hparams, True, max_examples)

    def validation_batches(self, hparams: dict[str, Any]) -> tf.data.Dataset:
        return batches(self.columns, self.labels, self.validation, hparams, shuffle=False)

    def validation_features(self) -> dict[str, tf.Tensor]:
        return {key: tf.gather(column, self.validation) for key, column in self.columns.items()}
