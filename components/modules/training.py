"""Trainer module code: trains the MLP on the transformed data (run_fn) and exports it.

The Tuner's trials build and compile their models through build_and_compile
and read their data through `dataset`, so a trial trains exactly as the
Trainer does.
"""

import dataclasses
import logging
import os
from typing import Any

import keras
import keras_tuner
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components.modules import assets, features
from components.modules.class_weights import class_priors, class_weights
from components.modules.export import export_model
from components.modules.keras_metrics import BalancedAccuracy, MacroF1
from components.modules.losses import ImbalanceLoss
from components.modules.model import build_model

EARLY_STOPPING_METRIC = "val_macro_f1"
PARSE_BATCH_SIZE = 4096  # examples parsed per step when the files are first read


@dataclasses.dataclass
class TrainingData:
    """What the transform graph says about the classes and features."""

    class_names: list[str]  # in label-index order
    class_counts: list[int]  # train examples per class, same order
    feature_spec: dict[str, Any]  # transformed features, without the label
    vocabulary_sizes: dict[str, int]  # categorical feature -> number of indices

    @classmethod
    def load(cls, transform_output: tft.TFTransformOutput) -> "TrainingData":
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
        return cls(class_names, [counts[n] for n in class_names], feature_spec, vocabulary_sizes)

    def weights(self, hparams: dict[str, Any]) -> np.ndarray:
        return class_weights(
            self.class_counts,
            hparams["class_weights"],
            beta=hparams["effective_number_beta"],
            max_weight=hparams["max_class_weight"],
        )


def apply_tuned_values(hparams: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Training settings with a Tuner trial's values; depth and width become layers."""
    tuned = {**hparams, **{k: v for k, v in values.items() if k not in ("depth", "width")}}
    if "depth" in values and "width" in values:
        tuned["hidden_units"] = [max(8, values["width"] // 2**i) for i in range(values["depth"])]
    return tuned


def build_and_compile(data: TrainingData, hparams: dict[str, Any]) -> keras.Model:
    """The MLP compiled with the imbalance loss; used by the Trainer and every Tuner trial."""
    model = build_model(data.feature_spec, data.vocabulary_sizes, len(data.class_names), hparams)
    loss = ImbalanceLoss(
        hparams["loss"],
        data.weights(hparams),
        priors=class_priors(data.class_counts),
        focal_gamma=hparams["focal_gamma"],
        logit_tau=hparams["logit_adjustment_tau"],
    )
    num_classes = len(data.class_names)
    model.compile(
        optimizer=keras.optimizers.Adam(hparams["learning_rate"]),
        loss=loss,
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            MacroF1(num_classes),
            BalancedAccuracy(num_classes),
        ],
    )
    return model


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
    data = TrainingData.load(transform_output)
    weights = dict(zip(data.class_names, data.weights(hparams).tolist(), strict=True))
    logging.info(
        "Train counts %s, %s class weights %s, loss %s",
        dict(zip(data.class_names, data.class_counts, strict=True)),
        hparams["class_weights"],
        weights,
        hparams["loss"],
    )
    model = build_and_compile(data, hparams)
    train = dataset(fn_args.train_files, fn_args, transform_output, hparams, shuffle=True)
    evaluation = dataset(fn_args.eval_files, fn_args, transform_output, hparams, shuffle=False)
    history = model.fit(
        train,
        validation_data=evaluation,
        epochs=hparams["epochs"],
        verbose=2,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor=EARLY_STOPPING_METRIC,
                mode="max",
                patience=hparams["early_stopping_patience"],
                restore_best_weights=True,
            ),
            keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
        ],
    )
    scores = history.history[EARLY_STOPPING_METRIC]
    summary = {
        "class_names": data.class_names,
        "class_counts": data.class_counts,
        "class_weights": weights,
        "hyperparameters": hparams,
        "tuned": bool(fn_args.hyperparameters),
        "epochs_trained": len(scores),
        "best_epoch": int(np.argmax(scores)) + 1,
        "best_val_macro_f1": float(np.max(scores)),
    }
    skipped = [config["label"], *config.get("exclude_columns", [])]
    export_model(
        model,
        transform_output,
        data.class_names,
        data.class_counts,
        hparams["posthoc_logit_adjustment_tau"],
        skipped,
        fn_args.serving_model_dir,
    )
    assets.write_json(fn_args.serving_model_dir, assets.TRAINING_SUMMARY_FILE, summary)
    # The schema travels with the model, so the next run can check a new drop against it.
    schema_copy = os.path.join(fn_args.serving_model_dir, assets.SCHEMA_FILE)
    tf.io.gfile.copy(fn_args.schema_path, schema_copy, overwrite=True)


def read_class_vocabulary(transform_output: tft.TFTransformOutput) -> list[str]:
    """Class names in index order, from the label vocabulary Transform built."""
    return [
        name.decode() if isinstance(name, bytes) else name
        for name in transform_output.vocabulary_by_name(features.LABEL_VOCABULARY)
    ]


def dataset(
    file_pattern: list[str],
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
    hparams: dict[str, Any],
    shuffle: bool,
    max_examples: int = 0,
) -> tf.data.Dataset:
    """One epoch of (features, label index) batches; `max_examples` > 0 truncates it.

    The files are read and parsed once into one dense array per feature (the
    transformed features of 400,000 rows and 40 columns take about 65 MB);
    every epoch then gathers its batches from a fresh permutation of the row
    indices. Caching or shuffling single examples instead keeps a few hundred
    bytes of tensor overhead per feature and example: gigabytes on large data.
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
    labels = tf.concat([label for _, label in parsed], 0)
    size = int(labels.shape[0])
    rows = tf.data.Dataset.range(size)
    if max_examples:  # a random subsample, the same one in every epoch
        rows = rows.shuffle(size, seed=hparams["seed"], reshuffle_each_iteration=False)
        rows = rows.take(max_examples).cache()
    if shuffle:
        rows = rows.shuffle(size, seed=hparams["seed"])
    return (
        rows.batch(hparams["batch_size"])
        .map(
            lambda index: (
                {key: tf.gather(c, index) for key, c in columns.items()},
                tf.gather(labels, index),
            )
        )
        .prefetch(tf.data.AUTOTUNE)
    )
