"""Transform's preprocessing_fn: schema-driven features and the label vocabulary.

Numeric columns are z-scored with their train mean and variance, missing values
becoming 0 (the mean), and leave as one [batch, columns] tensor; string columns
and the int columns named in `categorical_columns` go through a vocabulary;
the label becomes an index in the `label` vocabulary, which ships with the
model so the serving signature can return class names. A second vocabulary
stores the train count of every class, from which the Trainer derives class
weights: the counts travel inside the transform graph, the TFX way, with no
extra plumbing. With a class hierarchy, a third vocabulary records each train
class's superclass, so the Trainer and Tuner read the mapping from the graph too.
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
      custom_config: {'label': str, 'exclude_columns': [...], 'categorical_columns': [...],
        'hierarchy': {class: superclass}, empty or absent for flat labels,
        'quantile_positions': whether to add QUANTILE_POSITIONS_KEY, which only the
        MLP's piecewise-linear encoding reads}.
    """
    label = custom_config["label"]
    skipped = set(custom_config.get("exclude_columns", [])) | {label}
    columns = sorted(name for name in inputs if name not in skipped)
    numeric = features.numeric_columns(
        {name: tensor.dtype for name, tensor in inputs.items()}, custom_config
    )
    outputs, vocabulary_columns = {}, set(columns) - set(numeric)
    for column, key in features.feature_keys(columns).items():
        if column in vocabulary_columns:
            outputs[key] = tft.compute_and_apply_vocabulary(
                _to_dense_string(inputs[column]), num_oov_buckets=1, vocab_filename=key
            )
    if numeric:
        outputs[features.NUMERIC_KEY] = _impute_and_scale([inputs[column] for column in numeric])
        if custom_config.get("quantile_positions"):
            outputs[features.QUANTILE_POSITIONS_KEY] = _quantile_positions_of(
                outputs[features.NUMERIC_KEY]
            )
    label_names = _to_dense_string(inputs[label])
    # Train-split class counts, for data-derived class weights in the Trainer.
    tft.vocabulary(
        label_names, vocab_filename=features.LABEL_COUNTS_VOCABULARY, store_frequency=True
    )
    if custom_config.get("hierarchy"):
        _record_superclasses(label_names, custom_config["hierarchy"])
    outputs[features.LABEL_KEY] = tft.compute_and_apply_vocabulary(
        label_names,
        vocab_filename=features.LABEL_VOCABULARY,
        num_oov_buckets=0,
        default_value=-1,
    )
    return outputs


def _record_superclasses(label_names: tf.Tensor, parents: dict[str, str]) -> None:
    """Writes the SUPERCLASS_VOCABULARY of 'class, superclass' pairs seen in the train split.

    A class the mapping lacks is paired with an empty superclass; the Trainer names it.
    """
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(list(parents), list(parents.values())),
        default_value="",
    )
    pairs = tf.strings.join(
        [label_names, table.lookup(label_names)], separator=features.SUPERCLASS_SEPARATOR
    )
    tft.vocabulary(pairs, vocab_filename=features.SUPERCLASS_VOCABULARY)


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
    """Categorical values as one-line strings; int 3 -> '3', float 1.5 -> '1.5'.

    A vocabulary file holds one value per line, so tf.Transform leaves values
    with line breaks (quoted CSV cells may hold them) out of it: they would all
    be out of vocabulary. Line breaks become spaces instead, here and at serving.
    """
    if tensor.dtype == tf.string:
        tensor = _map_values(tensor, lambda v: tf.strings.regex_replace(v, r"\r\n|\r|\n", " "))
    else:
        tensor = _map_values(
            tensor, lambda v: tf.strings.as_string(v, shortest=v.dtype.is_floating)
        )
    return _to_dense(tensor, MISSING_CATEGORY)


def _impute_and_scale(numeric: list[Any]) -> tf.Tensor:
    """Z-scores each column with the train mean and variance of its present values; missing -> 0.

    All numeric columns go through one [batch, columns] analyzer, with missing
    values as NaN (tf.Transform's mean and variance skip them), and leave as one
    output. One analyzer and one output instead of one per column is what keeps
    Transform's cost flat in the number of columns: each analyzer adds graph
    tracing and Beam stages, and loading the transform graph walks it once per
    output.
    """
    stacked = tf.concat(
        [
            _to_dense(_map_values(column, lambda v: tf.cast(v, tf.float32)), float("nan"))
            for column in numeric
        ],
        axis=1,
    )
    scaled = tft.scale_to_z_score(stacked, elementwise=True)
    return tf.where(tf.math.is_nan(stacked), 0.0, scaled)


def _quantile_positions_of(scaled: tf.Tensor) -> tf.Tensor:
    """The quantile positions of every column, from three [batch, columns] analyzers.

    Only with numeric_encoding: ple; the trees and the z-score MLP skip them and
    their analyzers (2 of about 20 s on shuttle's train split).
    """
    return quantile_positions(
        scaled,
        tft.quantiles(scaled, features.QUANTILE_BINS, epsilon=0.01, reduce_instance_dims=False),
        tft.min(scaled, reduce_instance_dims=False),
        tft.max(scaled, reduce_instance_dims=False),
    )


def quantile_positions(
    values: tf.Tensor, boundaries: tf.Tensor, lowest: tf.Tensor, highest: tf.Tensor
) -> tf.Tensor:
    """Each value's position among its column's bin edges: bin index + fraction of the bin.

    Args:
      values: [batch, columns]; boundaries: [columns, bins - 1] inner bin edges;
        lowest, highest: [columns], the outer edges (train minimum and maximum).

    Returns:
      [batch, columns] in [0, bins]; values outside the train range are clipped.
    """
    edges = tf.concat([lowest[:, None], boundaries, highest[:, None]], axis=1)
    by_column = tf.transpose(values)  # [columns, batch], as searchsorted wants it
    bins = tf.searchsorted(boundaries, by_column, side="right")
    low = tf.gather(edges, bins, batch_dims=1)
    high = tf.gather(edges, bins + 1, batch_dims=1)
    width = high - low
    # An empty bin (repeated edges: a discrete column) is fully on once a value reaches it.
    reached = tf.cast(by_column >= high, tf.float32)
    fraction = tf.where(width > 0, (by_column - low) / tf.where(width > 0, width, 1.0), reached)
    position = tf.cast(bins, tf.float32) + tf.clip_by_value(fraction, 0.0, 1.0)
    return tf.transpose(position)
