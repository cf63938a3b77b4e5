"""Transform's preprocessing_fn: schema-driven features and the label vocabulary.

Numeric columns are z-scored with their train mean and variance, missing values
becoming 0 (the mean); string columns and the int columns named in
`categorical_columns` go through a vocabulary;
the label becomes an index in the `label` vocabulary, which ships with the
model so the serving signature can return class names. A second vocabulary
stores the train count of every class, from which the Trainer derives class
weights: the counts travel inside the transform graph, the TFX way, with no
extra plumbing.
"""

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from components.modules import features

MISSING_CATEGORY = "__missing__"


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, Any]:
    """Transforms raw features; `custom_config` holds label and column choices.

    Args:
      inputs: raw feature tensors keyed by CSV column name.
      custom_config: {'label': str, 'exclude_columns': [...], 'categorical_columns': [...]}.
    """
    label = custom_config["label"]
    skipped = set(custom_config.get("exclude_columns", [])) | {label}
    categorical = set(custom_config.get("categorical_columns", []))
    columns = sorted(name for name in inputs if name not in skipped)
    outputs, numeric = {}, {}
    for column, key in features.feature_keys(columns).items():
        tensor = inputs[column]
        if tensor.dtype == tf.string or column in categorical:
            outputs[key] = tft.compute_and_apply_vocabulary(
                _to_dense_string(tensor), num_oov_buckets=1, vocab_filename=key
            )
        else:
            numeric[key] = tensor
    if numeric:
        outputs.update(_impute_and_scale(numeric))
    label_names = _to_dense_string(inputs[label])
    # Train-split class counts, for data-derived class weights in the Trainer.
    tft.vocabulary(
        label_names, vocab_filename=features.LABEL_COUNTS_VOCABULARY, store_frequency=True
    )
    outputs[features.LABEL_KEY] = tft.compute_and_apply_vocabulary(
        label_names,
        vocab_filename=features.LABEL_VOCABULARY,
        num_oov_buckets=0,
        default_value=-1,
    )
    return outputs


def _to_dense(tensor: Any, default: Any) -> tf.Tensor:
    """Returns a [batch, 1] dense tensor, filling missing values with `default`."""
    if isinstance(tensor, tf.SparseTensor):
        batch_size = tensor.dense_shape[0]
        tensor = tf.sparse.to_dense(
            tf.SparseTensor(tensor.indices, tensor.values, [batch_size, 1]), default_value=default
        )
    return tf.reshape(tensor, [-1, 1])


def _map_values(tensor: Any, fn: Any) -> Any:
    """Applies `fn` to the values of a dense or sparse tensor."""
    if isinstance(tensor, tf.SparseTensor):
        return tf.SparseTensor(tensor.indices, fn(tensor.values), tensor.dense_shape)
    return fn(tensor)


def _to_dense_string(tensor: Any) -> tf.Tensor:
    """Categorical values as strings; int 3 -> '3', float 1.5 -> '1.5'."""
    if tensor.dtype != tf.string:
        tensor = _map_values(
            tensor, lambda v: tf.strings.as_string(v, shortest=v.dtype.is_floating)
        )
    return _to_dense(tensor, MISSING_CATEGORY)


def _impute_and_scale(numeric: dict[str, Any]) -> dict[str, tf.Tensor]:
    """Z-scores each column with the train mean and variance of its present values; missing -> 0.

    All numeric columns go through one [batch, columns] analyzer, with missing
    values as NaN (tf.Transform's mean and variance skip them). One analyzer
    instead of one per column is what keeps Transform's cost flat in the
    number of columns: each analyzer adds graph tracing and Beam stages.
    """
    keys = sorted(numeric)
    stacked = tf.concat(
        [
            _to_dense(_map_values(numeric[key], lambda v: tf.cast(v, tf.float32)), float("nan"))
            for key in keys
        ],
        axis=1,
    )
    scaled = tft.scale_to_z_score(stacked, elementwise=True)
    scaled = tf.where(tf.math.is_nan(stacked), 0.0, scaled)
    return {key: scaled[:, index : index + 1] for index, key in enumerate(keys)}
