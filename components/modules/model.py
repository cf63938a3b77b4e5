"""Builds the Keras 3 MLP from the transformed feature spec and hyperparameters."""

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from components.modules import features


class PiecewiseLinearEmbedding(keras.layers.Layer):
    """Quantile positions -> piecewise-linear encoding -> one linear map per column.

    Gorishniy et al. 2022, "On Embeddings for Numerical Features in Tabular Deep
    Learning": bin t of a column is 0 below the bin, 1 above it and linear inside,
    so the network can cut a column at any train quantile, as a tree does.
    """

    def __init__(self, bins: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.bins, self.dim = bins, dim

    def build(self, input_shape):
        columns = input_shape[-1]
        self.kernel = self.add_weight(shape=(columns, self.bins, self.dim), name="kernel")
        self.bias = self.add_weight(shape=(columns, self.dim), initializer="zeros", name="bias")

    def call(self, positions):
        steps = ops.arange(self.bins, dtype="float32")
        encoded = ops.clip(ops.expand_dims(positions, -1) - steps, 0.0, 1.0)
        embedded = ops.einsum("bct,ctd->bcd", encoded, self.kernel) + self.bias
        return ops.reshape(ops.relu(embedded), (-1, positions.shape[-1] * self.dim))

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "dim": self.dim}


class IntegerCategoryEmbedding(keras.layers.Layer):
    """Low-cardinality int columns of the z-score tensor -> one learned vector per value.

    An int-coded column (a state code, a weather code) means nothing as a
    number; an embedding per value lets the network treat each code apart. Each
    chosen column's z-score is matched to the nearest of its train values; a
    value not seen in training (or a missing one, z-score 0) gets the column's
    extra 'unknown' vector.
    """

    def __init__(self, positions: list[int], values: list[list[float]], dim: int, **kwargs):
        super().__init__(**kwargs)
        self.positions, self.values, self.dim = list(positions), [list(v) for v in values], dim
        self.slots = max(len(v) for v in self.values) + 1  # the last one: unknown
        padded = np.full((len(values), self.slots), np.inf, np.float32)  # >= 1 inf per row
        for row, column_values in enumerate(self.values):
            padded[row, : len(column_values)] = column_values
        self.known = tf.constant(padded)  # [columns, slots], ascending
        midpoints = (padded[:, :-1] + padded[:, 1:]) / 2  # nearest value's boundaries
        self.midpoints = tf.constant(midpoints.astype(np.float32))

    def build(self, input_shape):
        self.table = self.add_weight(
            shape=(len(self.positions) * self.slots, self.dim),
            initializer="uniform",
            name="table",
        )

    def call(self, numeric):
        by_column = tf.transpose(tf.gather(numeric, self.positions, axis=1))  # [columns, batch]
        nearest = tf.searchsorted(self.midpoints, by_column)
        value = tf.gather(self.known, nearest, batch_dims=1)
        seen = tf.abs(value - by_column) <= 1e-4 * tf.maximum(1.0, tf.abs(by_column))
        slot = tf.where(seen, nearest, self.slots - 1)
        rows = slot + tf.range(len(self.positions))[:, tf.newaxis] * self.slots
        embedded = tf.gather(self.table, tf.transpose(rows))  # [batch, columns, dim]
        return tf.reshape(embedded, (-1, len(self.positions) * self.dim))

    def get_config(self):
        return {
            **super().get_config(),
            "positions": self.positions,
            "values": self.values,
            "dim": self.dim,
        }


def build_model(
    feature_spec: dict[str, Any],
    vocabulary_sizes: dict[str, int],
    num_classes: int,
    hparams: dict[str, Any],
    integer_categories: dict[int, list[float]] | None = None,
) -> keras.Model:
    """Returns an uncompiled MLP that maps transformed features to class logits.

    Args:
      feature_spec: transformed feature spec without the label: the numeric
        columns' z-scores and quantile positions, [columns] each, and one
        vocabulary index per categorical column.
      vocabulary_sizes: number of distinct indices per categorical feature.
      num_classes: K, the width of the output layer.
      hparams: hidden_units, dropout, l1, l2, numeric_encoding and ple_dim (see
        TrainingConfig).
      integer_categories: position in the numeric columns -> the column's
        distinct train z-scores, for the int columns embedded per value.
    """
    inputs, encoded = {}, []
    for key in sorted(feature_spec):
        if feature_spec[key].dtype == tf.float32:  # z-scores or quantile positions
            columns = feature_spec[key].shape[-1]
            inputs[key] = keras.Input(shape=(columns,), name=key, dtype="float32")
            if key != features.QUANTILE_POSITIONS_KEY:
                encoded.append(inputs[key])
                if integer_categories:
                    positions = sorted(integer_categories)
                    values = [integer_categories[p] for p in positions]
                    dim = _embedding_dim(max(len(v) for v in values) + 1)
                    embedding = IntegerCategoryEmbedding(positions, values, dim)
                    encoded.append(embedding(inputs[key]))
            elif hparams["numeric_encoding"] == "ple":
                embedding = PiecewiseLinearEmbedding(features.QUANTILE_BINS, hparams["ple_dim"])
                encoded.append(embedding(inputs[key]))
        else:
            inputs[key] = keras.Input(shape=(1,), name=key, dtype="int64")
            size = vocabulary_sizes[key]
            embedded = keras.layers.Embedding(size, _embedding_dim(size), name=f"embed_{key}")
            encoded.append(keras.layers.Flatten()(embedded(inputs[key])))
    x = keras.layers.Concatenate()(encoded) if len(encoded) > 1 else encoded[0]
    penalties = {"l1": hparams["l1"], "l2": hparams["l2"]}
    regularizer = keras.regularizers.L1L2(**penalties) if any(penalties.values()) else None
    for units in hparams["hidden_units"]:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer)(x)
        if hparams["dropout"]:
            x = keras.layers.Dropout(hparams["dropout"])(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs=inputs, outputs=logits)


def _embedding_dim(vocabulary_size: int) -> int:
    """A common rule of thumb: grows slowly with the vocabulary, at most 16."""
    return max(2, min(16, round(1.6 * math.pow(vocabulary_size, 0.56))))
