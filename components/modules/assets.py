"""The files the Trainer writes beside every exported model, and their readers.

They live in the SavedModel's assets.extra, so they travel with the model to
serving/ and to whoever loads it: the Evaluator reads the class names, the
next run's DataGate the schema, the report the training summary.
"""

import json
import os
from typing import Any

import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.utils import io_utils, path_utils

TRAINING_SUMMARY_FILE = "assets.extra/training.json"
"""Class counts, class weights, loss and hyperparameters the model was trained with."""

CLASS_NAMES_FILE = "assets.extra/class_names.json"
"""Class names in score order."""

HIERARCHY_FILE = "assets.extra/hierarchy.json"
"""With data.hierarchy: superclass names and each class's superclass index (Hierarchy)."""

SCHEMA_FILE = "assets.extra/schema.pbtxt"
"""The schema the model was trained with; the next run's DataGate checks new data against it."""

SERVING_FEATURES_FILE = "assets.extra/serving_features.json"
"""The raw columns serving_default parses (the schema's, less the label and excluded columns)."""


def write_json(export_dir: str, relative_path: str, value: Any) -> None:
    path = os.path.join(export_dir, relative_path)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(value, f, indent=2)


def read_exported_json(export_dir: str, relative_path: str) -> Any:
    """A JSON file beside the SavedModel in `export_dir` (e.g. a pushed model's directory)."""
    with tf.io.gfile.GFile(os.path.join(export_dir, relative_path)) as f:
        return json.load(f)


def _read_json(model_uri: str, relative_path: str) -> Any:
    return read_exported_json(path_utils.serving_model_path(model_uri), relative_path)


def read_class_names(model_uri: str) -> list[str]:
    """Class names in score order, from a Model artifact's URI."""
    return _read_json(model_uri, CLASS_NAMES_FILE)


def read_hierarchy(model_uri: str) -> dict[str, Any] | None:
    """The model's class hierarchy (Hierarchy.to_json), or None for flat labels."""
    path = os.path.join(path_utils.serving_model_path(model_uri), HIERARCHY_FILE)
    return _read_json(model_uri, HIERARCHY_FILE) if tf.io.gfile.exists(path) else None


def read_training_summary(model_uri: str) -> dict[str, Any]:
    """What the Trainer recorded about training, from a Model artifact's URI."""
    return _read_json(model_uri, TRAINING_SUMMARY_FILE)


def read_schema(model_uri: str) -> schema_pb2.Schema | None:
    """The schema a model was trained with, or None for a model exported without one."""
    return read_exported_schema(path_utils.serving_model_path(model_uri))


def read_exported_schema(export_dir: str) -> schema_pb2.Schema | None:
    """read_schema for the SavedModel in `export_dir` (e.g. a pushed model's directory)."""
    path = os.path.join(export_dir, SCHEMA_FILE)
    if not tf.io.gfile.exists(path):
        return None
    return io_utils.parse_pbtxt_file(path, schema_pb2.Schema())
