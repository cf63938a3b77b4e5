"""Trainer module code: trains the MLP and exports a self-describing SavedModel.

The export has two signatures:
- serving_default: serialized tf.Examples (no label) -> `scores` [batch, K]
  softmax probabilities and `classes` [batch, K] class names in score order.
- transform_features: serialized tf.Examples -> transformed features and the
  label index, which the Evaluator uses to read labels in vocabulary order.
- argmax_one_hot: serialized tf.Examples -> `predictions`, the one-hot of the
  top class. TFMA binarizes each class score at 0.5, so evaluating this output
  gives argmax-based per-class metrics that match scikit-learn, and its macro
  averaging works (it cannot combine with TFMA's own `top_k`).
"""

import json
import logging
import os
from typing import Any

import keras
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from components import features
from components.model import build_model

EXAMPLES_SPEC = tf.TensorSpec([None], tf.string, name="examples")


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point; settings arrive in `fn_args.custom_config`."""
    config = fn_args.custom_config
    hparams = config["training"]
    keras.utils.set_random_seed(hparams["seed"])
    transform_output = tft.TFTransformOutput(fn_args.transform_output)
    class_names = read_class_vocabulary(transform_output)

    feature_spec = transform_output.transformed_feature_spec()
    feature_spec.pop(features.LABEL_KEY)
    vocabulary_sizes = {
        key: transform_output.vocabulary_size_by_name(key) + 1  # + the OOV bucket
        for key, spec in feature_spec.items()
        if spec.dtype != tf.float32
    }
    model = build_model(feature_spec, vocabulary_sizes, len(class_names), hparams)
    model.compile(
        optimizer=keras.optimizers.Adam(hparams["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    train = _dataset(fn_args.train_files, fn_args, transform_output, hparams, shuffle=True)
    evaluation = _dataset(fn_args.eval_files, fn_args, transform_output, hparams, shuffle=False)
    model.fit(
        train,
        validation_data=evaluation,
        epochs=hparams["epochs"],
        verbose=2,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=hparams["early_stopping_patience"],
                restore_best_weights=True,
            ),
            keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
        ],
    )
    skipped = [config["label"], *config.get("exclude_columns", [])]
    export_model(model, transform_output, skipped, class_names, fn_args.serving_model_dir)


def read_class_vocabulary(transform_output: tft.TFTransformOutput) -> list[str]:
    """Class names in index order, from the label vocabulary Transform built."""
    return [
        name.decode() if isinstance(name, bytes) else name
        for name in transform_output.vocabulary_by_name(features.LABEL_VOCABULARY)
    ]


def _dataset(
    file_pattern: list[str],
    fn_args: tfx.components.FnArgs,
    transform_output: tft.TFTransformOutput,
    hparams: dict[str, Any],
    shuffle: bool,
) -> tf.data.Dataset:
    """One epoch of (features, label index) batches."""
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=hparams["batch_size"],
        label_key=features.LABEL_KEY,
        num_epochs=1,
        shuffle=shuffle,
        shuffle_seed=hparams["seed"],
    )
    dataset = fn_args.data_accessor.tf_dataset_factory(
        file_pattern, options, transform_output.transformed_metadata.schema
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def export_model(
    model: keras.Model,
    transform_output: tft.TFTransformOutput,
    skipped_columns: list[str],
    class_names: list[str],
    export_dir: str,
) -> None:
    """Saves the model with its serving and transform signatures and class names."""
    # Attributes make the saver track the Transform graph and its assets.
    model.tft_serving_layer = transform_output.transform_features_layer()
    model.tft_eval_layer = transform_output.transform_features_layer()
    feature_keys = list(model.input.keys()) if isinstance(model.input, dict) else []
    serving_spec = transform_output.raw_feature_spec()
    for column in skipped_columns:
        serving_spec.pop(column, None)
    class_table = tf.constant(class_names)

    def predict_scores(examples):
        raw = tf.io.parse_example(examples, serving_spec)
        transformed = model.tft_serving_layer(raw)
        return tf.nn.softmax(model({key: transformed[key] for key in feature_keys}))

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def serve(examples):
        scores = predict_scores(examples)
        classes = tf.tile(class_table[tf.newaxis, :], [tf.shape(scores)[0], 1])
        return {"scores": scores, "classes": classes}

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def argmax_one_hot(examples):
        scores = predict_scores(examples)
        return {"predictions": tf.one_hot(tf.argmax(scores, axis=1), depth=len(class_names))}

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def transform_features(examples):
        raw = tf.io.parse_example(examples, transform_output.raw_feature_spec())
        return model.tft_eval_layer(raw)

    tf.saved_model.save(
        model,
        export_dir,
        signatures={
            "serving_default": serve,
            "transform_features": transform_features,
            "argmax_one_hot": argmax_one_hot,
        },
    )
    class_names_path = os.path.join(export_dir, features.CLASS_NAMES_FILE)
    tf.io.gfile.makedirs(os.path.dirname(class_names_path))
    with tf.io.gfile.GFile(class_names_path, "w") as f:
        json.dump(class_names, f)
    logging.info("Exported model with classes %s to %s", class_names, export_dir)
