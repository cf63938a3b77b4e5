"""Exports a trained model as a self-describing SavedModel with two signatures.

- serving_default: serialized tf.Examples (no label) -> `scores` [batch, K]
  softmax probabilities and `classes` [batch, K] class names in score order;
  with a class hierarchy also `superclass_scores` [batch, S], each the sum of
  its classes' scores, and `superclasses` [batch, S] their names.
- transform_features: serialized tf.Examples -> transformed features and the
  label index, which the Evaluator uses to read labels in vocabulary order
  (it evaluates the `scores` of serving_default).

The export holds only TensorFlow ops: it loads with plain tf.saved_model.load.
"""

import logging

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from components.modules import assets, features
from components.modules.hierarchy import Hierarchy

EXAMPLES_SPEC = tf.TensorSpec([None], tf.string, name="examples")


def export_model(
    model: keras.Model,
    transform_output: tft.TFTransformOutput,
    class_names: list[str],
    logit_offsets: np.ndarray,
    skipped_columns: list[str],
    export_dir: str,
    temperature: float = 1.0,
    hierarchy: Hierarchy | None = None,
) -> None:
    """Saves the model with its serving and transform signatures.

    Args:
      model: maps transformed features to class logits.
      transform_output: the Transform graph the model was trained on.
      class_names: classes in logit order.
      logit_offsets: per class, added to the logits before the softmax: post-hoc
        logit adjustment (-tau * log prior, Menon et al. 2021) plus any decision
        offsets (components.modules.offsets); zeros serve the model as it is.
      skipped_columns: raw columns the model does not read (label, excluded).
      export_dir: where the SavedModel goes.
      temperature: divides the offset logits before the softmax
        (components.modules.calibration); the argmax does not change.
      hierarchy: the classes' superclasses, served beside the classes.
    """
    # Attributes make the saver track the Transform graph and its assets.
    model.tft_serving_layer = transform_output.transform_features_layer()
    model.tft_eval_layer = transform_output.transform_features_layer()
    feature_keys = [
        key for key in transform_output.transformed_feature_spec() if key != features.LABEL_KEY
    ]
    serving_spec = transform_output.raw_feature_spec()
    for column in skipped_columns:
        serving_spec.pop(column, None)
    class_table = tf.constant(class_names)
    offsets = tf.constant(logit_offsets, tf.float32)
    inverse_temperature = tf.constant(1.0 / temperature, tf.float32)
    if hierarchy is not None:
        membership = tf.constant(hierarchy.membership())
        superclass_table = tf.constant(list(hierarchy.superclasses))

    @tf.function(input_signature=[EXAMPLES_SPEC], autograph=False)
    def serve(examples):
        raw = tf.io.parse_example(examples, serving_spec)
        transformed = model.tft_serving_layer(raw)
        logits = model({key: transformed[key] for key in feature_keys})
        scores = tf.nn.softmax((logits + offsets) * inverse_temperature)
        rows = tf.shape(scores)[0]
        outputs = {"scores": scores, "classes": tf.tile(class_table[tf.newaxis, :], [rows, 1])}
        if hierarchy is not None:
            outputs["superclass_scores"] = tf.matmul(scores, membership)
            outputs["superclasses"] = tf.tile(superclass_table[tf.newaxis, :], [rows, 1])
        return outputs

    @tf.function(input_signature=[EXAMPLES_SPEC], autograph=False)
    def transform_features(examples):
        raw = tf.io.parse_example(examples, transform_output.raw_feature_spec())
        return model.tft_eval_layer(raw)

    tf.saved_model.save(
        model,
        export_dir,
        signatures={
            "serving_default": serve,
            "transform_features": transform_features,
        },
    )
    assets.write_json(export_dir, assets.CLASS_NAMES_FILE, class_names)
    assets.write_json(export_dir, assets.SERVING_FEATURES_FILE, sorted(serving_spec))
    if hierarchy is not None:
        assets.write_json(export_dir, assets.HIERARCHY_FILE, hierarchy.to_json())
    logging.info("Exported model with classes %s to %s", class_names, export_dir)
