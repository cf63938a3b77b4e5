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

import contextlib
import dataclasses
import functools
import logging
import math
import os
import tempfile
import time
from typing import Any

import keras
import keras_tuner
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components.modules import (
    assets,
    calibration,
    distribute,
    ensemble,
    features,
    offsets,
    progress,
    trees,
)
from components.modules.class_weights import class_priors, class_weights
from components.modules.export import export_model
from components.modules.hierarchy import Hierarchy
from components.modules.keras_metrics import BalancedAccuracy, MacroF1
from components.modules.losses import ImbalanceLoss
from components.modules.model import build_model

EARLY_STOPPING_METRIC = "val_macro_f1"
CURVES = ("macro_f1", "val_macro_f1", "loss", "val_loss")  # per epoch, for learning curves
PARSE_BATCH_SIZE = 4096  # examples parsed per step when the files are read
MIN_CLASS_ROWS = 1000  # a class this small stays whole in the in-memory sample of large data
# Batches per call of the compiled train step. With 1, Keras returns to Python after every
# batch, and the TensorBoard callback's batch hooks make it wait for each: a small MLP then
# trained at two thirds of a plain script's rows/s (BENCHMARKS.md, "Training throughput").
STEPS_PER_EXECUTION = 16


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
    def load(cls, transform_output: tft.TFTransformOutput) -> "TrainingData":
        class_names = read_class_vocabulary(transform_output)
        counts = train_class_counts(transform_output)
        feature_spec = model_feature_spec(transform_output)
        vocabulary_sizes = {
            key: transform_output.vocabulary_size_by_name(key) + 1  # + the OOV bucket
            for key, spec in feature_spec.items()
            if spec.dtype != tf.float32
        }
        parents = read_superclasses(transform_output)
        hierarchy = Hierarchy.for_classes(parents, class_names) if parents is not None else None
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


def train_class_counts(transform_output: tft.TFTransformOutput) -> dict[str, int]:
    """Train examples per class name, from the label counts Transform wrote."""
    counts = {}
    for line in transform_output.vocabulary_by_name(features.LABEL_COUNTS_VOCABULARY):
        count, name = line.split(b" ", 1)
        counts[name.decode()] = int(count)
    return counts


def read_superclasses(transform_output: tft.TFTransformOutput) -> dict[str, str] | None:
    """{class: superclass} as Transform recorded it from data.hierarchy; None for flat labels.

    A train class the mapping lacked has no entry, so Hierarchy.for_classes names it.
    """
    if transform_output.vocabulary_file_by_name(features.SUPERCLASS_VOCABULARY) is None:
        return None
    pairs = (
        line.decode().split(features.SUPERCLASS_SEPARATOR, 1)
        for line in transform_output.vocabulary_by_name(features.SUPERCLASS_VOCABULARY)
    )
    return {name: parent for name, parent in pairs if parent}


def model_feature_spec(transform_output: tft.TFTransformOutput) -> dict[str, Any]:
    """The transformed features the models read: all but the label."""
    feature_spec = transform_output.transformed_feature_spec()
    feature_spec.pop(features.LABEL_KEY)
    return feature_spec


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
        steps_per_execution=STEPS_PER_EXECUTION,
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


class EpochProgress(keras.callbacks.Callback):
    """Reports each epoch of a Keras fit with its validation macro-F1, and times it."""

    def __init__(self, what: str = "epoch"):
        super().__init__()
        self.what = what
        self.epoch_seconds: list[float] = []  # wall time of each epoch, validation included

    def on_train_begin(self, logs=None) -> None:
        self.progress = progress.Progress(self.what, self.params["epochs"], at_most=True)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.epoch_start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.epoch_seconds.append(round(time.monotonic() - self.epoch_start, 3))
        score = (logs or {}).get("val_macro_f1")
        detail = f"val macro-F1 {score:.3f}" if score is not None else ""
        self.progress.step(epoch + 1, detail)


def fit_steps(examples: int, hparams: dict[str, Any], epochs: int) -> int:
    """Optimiser steps of `epochs` epochs over `examples` rows."""
    return math.ceil(examples / hparams["batch_size"]) * epochs


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point; settings arrive in `fn_args.custom_config`."""
    strategy = distribute.strategy_from_environment()  # before any TensorFlow op
    config = fn_args.custom_config
    hparams = dict(config["training"])
    if fn_args.hyperparameters:
        tuned = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters).values
        hparams = apply_tuned_values(hparams, tuned)
        logging.info("Using the Tuner's best hyperparameters: %s", tuned)
    keras.utils.set_random_seed(hparams["seed"])
    _reset_peak_memory()
    transform_output = tft.TFTransformOutput(fn_args.transform_output)
    data = TrainingData.load(transform_output)
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
        served["mlp"], reports["mlp"] = fit_mlp(
            data, hparams, split, fn_args.model_run_dir, strategy
        )
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
        "distribution": {
            "strategy": distribute.strategy_name(strategy),
            "replicas": strategy.num_replicas_in_sync,
        },
        "memory": {**split.memory(), "peak_rss_mb": _peak_memory_mb()},
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
    chief = distribute.is_chief()
    # The other workers save too, to a scratch folder, in case saving needs every worker.
    export_dir = fn_args.serving_model_dir if chief else tempfile.mkdtemp()
    export_model(
        ensemble.assemble(served, selection.get("tree_weight")),
        transform_output,
        data.class_names,
        logit_offsets,
        skipped,
        export_dir,
        temperature,
        data.hierarchy,
    )
    if not chief:
        tf.io.gfile.rmtree(export_dir)
        distribute.wait_for_chief_export(fn_args.serving_model_dir)
        return
    assets.write_json(fn_args.serving_model_dir, assets.TRAINING_SUMMARY_FILE, summary)
    # The schema travels with the model, so the next run can check a new drop against it.
    schema_copy = os.path.join(fn_args.serving_model_dir, assets.SCHEMA_FILE)
    tf.io.gfile.copy(fn_args.schema_path, schema_copy, overwrite=True)


def _reset_peak_memory() -> None:
    """Starts the process's peak resident memory afresh (Linux), so that training.json
    reports the Trainer's own peak, not an earlier component's."""
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")


def _peak_memory_mb() -> float | None:
    """The process's peak resident memory since _reset_peak_memory (Linux), or None."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def _category_counts(
    data: TrainingData, raw_feature_spec: dict[str, Any], custom_config: dict[str, Any]
) -> dict[str, int]:
    """For training.json: each int column the MLP embeds per value, and its number of values."""
    names = _numeric_columns(raw_feature_spec, custom_config)
    return {names[position]: len(values) for position, values in data.integer_categories.items()}


def fit_mlp(
    data: TrainingData,
    hparams: dict[str, Any],
    split: "SelectionSplit",
    log_dir: str,
    strategy: tf.distribute.Strategy,
) -> tuple[keras.Model, dict[str, Any]]:
    """The MLP, early-stopped on validation macro-F1 with its best epoch's weights restored,
    trained by `strategy`'s replicas (distribute.py)."""
    start = time.monotonic()
    steps = fit_steps(split.sizes()["fit_examples"], hparams, hparams["epochs"])
    with strategy.scope():
        model = build_and_compile(data, hparams, steps)
    epochs = EpochProgress()
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor=EARLY_STOPPING_METRIC,
            mode="max",
            patience=hparams["early_stopping_patience"],
            restore_best_weights=True,
        ),
        keras.callbacks.TensorBoard(log_dir=log_dir),
        epochs,
        *learning_rate_callbacks(hparams, EARLY_STOPPING_METRIC),
    ]
    train, validation = split.fit_batches(hparams), split.validation_batches(hparams)
    if distribute.needs_own_loop(strategy):
        history = distribute.fit_replicated(
            model, strategy, train, validation, hparams["epochs"], callbacks, hparams["batch_size"]
        )
    else:
        history = model.fit(
            train,
            validation_data=validation,
            epochs=hparams["epochs"],
            verbose=2,
            callbacks=callbacks,
        )
    scores = history.history[EARLY_STOPPING_METRIC]
    curves = {name: history.history[name] for name in CURVES}
    return model, {
        "epochs_trained": len(scores),
        "best_epoch": int(np.argmax(scores)) + 1,
        "best_val_macro_f1": float(np.max(scores)),
        "seconds": round(time.monotonic() - start, 1),
        "epoch_seconds": epochs.epoch_seconds,  # the first includes tracing the steps
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
    report["fit_rows"] = len(fit)  # all fit rows, or the sample of large data (SelectionSplit)
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


def _parsed_batches(
    file_pattern: list[str],
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
    label_only: bool = False,
) -> tf.data.Dataset:
    """(features, labels [rows]) batches of PARSE_BATCH_SIZE rows, always in the files' order,
    so a row's position is the same in every pass. `label_only` parses the label alone."""
    schema = transform_output.transformed_metadata.schema
    if label_only:
        label_schema = type(schema)()
        label_schema.feature.extend(f for f in schema.feature if f.name == features.LABEL_KEY)
        schema = label_schema
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=PARSE_BATCH_SIZE,
        label_key=features.LABEL_KEY,
        num_epochs=1,
        shuffle=False,
    )
    dataset = fn_args.data_accessor.tf_dataset_factory(file_pattern, options, schema)
    return dataset.map(lambda batch, labels: (batch, tf.reshape(labels, [-1])))


def load_examples(
    file_pattern: list[str],
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
    rows: np.ndarray | None = None,
) -> tuple[dict[str, tf.Tensor], np.ndarray]:
    """Reads transformed examples once into one dense tensor per feature, and the labels.

    `rows`: a boolean mask over the files' rows; only those are kept.
    The transformed features of 400,000 rows and 40 columns take about 65 MB;
    caching or shuffling single examples instead keeps a few hundred bytes of
    tensor overhead per feature and example: gigabytes on large data.
    """
    dataset = _parsed_batches(file_pattern, fn_args, transform_output)
    if rows is not None:
        dataset = _kept_rows(dataset, rows)
    parsed = list(dataset)
    columns = {key: tf.concat([batch[key] for batch, _ in parsed], 0) for key in parsed[0][0]}
    labels = tf.concat([label for _, label in parsed], 0).numpy()
    return columns, labels


def _kept_rows(dataset: tf.data.Dataset, rows: np.ndarray) -> tf.data.Dataset:
    """The rows of parsed batches that a boolean mask over the files' rows keeps."""
    mask = tf.constant(rows)

    def keep(index, batch):
        features_batch, labels = batch
        start = index * PARSE_BATCH_SIZE
        kept = tf.gather(mask, start + tf.range(tf.size(labels, out_type=tf.int64)))
        return (
            {key: tf.boolean_mask(value, kept) for key, value in features_batch.items()},
            tf.boolean_mask(labels, kept),
        )

    return dataset.enumerate().map(keep)


def read_labels(
    file_pattern: list[str], fn_args: tfx.components.FnArgs, transform_output: tft.TFTransformOutput
) -> np.ndarray:
    """The label index of every row, in the files' order, parsing nothing else."""
    dataset = _parsed_batches(file_pattern, fn_args, transform_output, label_only=True)
    return np.concatenate([labels.numpy() for _, labels in dataset])


def row_bytes(feature_spec: dict[str, Any]) -> int:
    """Bytes of one transformed row held as dense arrays, its label included."""
    return 8 + sum(
        int(np.prod(spec.shape or [1])) * spec.dtype.size for spec in feature_spec.values()
    )


def sample_rows(labels: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """About `max_rows` rows as a boolean mask: every class at one rate, but classes of up
    to MIN_CLASS_ROWS rows kept whole, so the rare ones lose nothing."""
    rate = max_rows / len(labels)
    rng = np.random.default_rng(seed)
    kept = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        count = min(len(rows), max(MIN_CLASS_ROWS, round(len(rows) * rate)))
        kept[rng.choice(rows, size=count, replace=False)] = True
    return kept


def streamed_batches(
    file_pattern: list[str],
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
    rows: np.ndarray,
    hparams: dict[str, Any],
) -> tf.data.Dataset:
    """One epoch of shuffled (features, label) batches of the masked rows, read from the
    files at every epoch: memory holds the shuffle buffer, not the data. The number of
    batches is stated, so Keras knows an epoch's length before its end."""
    dataset = _kept_rows(_parsed_batches(file_pattern, fn_args, transform_output), rows)
    return (
        dataset.unbatch()
        .shuffle(hparams["shuffle_buffer"], seed=hparams["seed"], reshuffle_each_iteration=True)
        .batch(hparams["batch_size"])
        .apply(tf.data.experimental.assert_cardinality(fit_steps(int(rows.sum()), hparams, 1)))
        .prefetch(tf.data.AUTOTUNE)
    )


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
    """The train split as fit rows and the stratified validation rows, read once.

    Up to `max_in_memory_mb` of dense features it is all in memory. Above that,
    memory holds the validation rows and a sample of the fit rows (sample_rows),
    which the trees fit on, while the MLP streams every fit row from the files
    at each epoch (`stream`).
    """

    columns: dict[str, tf.Tensor]  # the rows in memory
    labels: np.ndarray
    fit: np.ndarray  # indices into the rows in memory
    validation: np.ndarray
    stream: "functools.partial[tf.data.Dataset] | None" = None  # hparams -> every fit row
    streamed_fit_rows: int = 0
    train_split_mb: float = 0.0  # the whole train split as dense arrays

    @classmethod
    def load(
        cls,
        fn_args: tfx.components.FnArgs,
        transform_output: tft.TFTransformOutput,
        hparams: dict[str, Any],
    ) -> "SelectionSplit":
        files = fn_args.train_files
        size = row_bytes(model_feature_spec(transform_output))
        memory_rows = int(hparams["max_in_memory_mb"] * 2**20 / size)
        rows = sum(train_class_counts(transform_output).values())
        size_mb = rows * size / 2**20
        if rows <= memory_rows:
            columns, labels = load_examples(files, fn_args, transform_output)
            held_out = validation_rows(labels, hparams["validation_percent"], hparams["seed"])
            fit, validation = np.flatnonzero(~held_out), np.flatnonzero(held_out)
            return cls(columns, labels, fit, validation, train_split_mb=size_mb)
        all_labels = read_labels(files, fn_args, transform_output)
        in_memory = sample_rows(all_labels, memory_rows, hparams["seed"])
        held_out = in_memory & validation_rows(
            all_labels, hparams["validation_percent"], hparams["seed"]
        )
        logging.info(
            "The train split (%d rows) is above training.max_in_memory_mb: the MLP streams "
            "it, the trees fit on %d rows in memory",
            len(all_labels),
            int((in_memory & ~held_out).sum()),
        )
        columns, labels = load_examples(files, fn_args, transform_output, in_memory)
        return cls(
            columns,
            labels,
            np.flatnonzero(~held_out[in_memory]),
            np.flatnonzero(held_out[in_memory]),
            stream=functools.partial(streamed_batches, files, fn_args, transform_output, ~held_out),
            streamed_fit_rows=int((~held_out).sum()),
            train_split_mb=size_mb,
        )

    def sizes(self) -> dict[str, int]:
        """Rows the MLP fits on and rows selection scores; the trees' are in their report."""
        fit = self.streamed_fit_rows or len(self.fit)
        return {"fit_examples": fit, "validation_examples": len(self.validation)}

    def memory(self) -> dict[str, Any]:
        """For training.json: the train split's size and whether the MLP streamed it."""
        return {"train_split_mb": self.train_split_mb, "streamed": self.stream is not None}

    def fit_batches(self, hparams: dict[str, Any], max_examples: int = 0) -> tf.data.Dataset:
        """Every fit row, shuffled; `max_examples` > 0 a fixed random subsample of the rows
        in memory (the Tuner's trials)."""
        if self.stream is not None and not max_examples:
            return self.stream(hparams)
        return batches(self.columns, self.labels, self.fit, hparams, True, max_examples)

    def validation_batches(self, hparams: dict[str, Any]) -> tf.data.Dataset:
        return batches(self.columns, self.labels, self.validation, hparams, shuffle=False)

    def validation_features(self) -> dict[str, tf.Tensor]:
        return {key: tf.gather(column, self.validation) for key, column in self.columns.items()}
