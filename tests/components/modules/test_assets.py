"""The files beside an exported model: written once, read by the Evaluator, DataGate, report."""

import os

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import standard_artifacts
from tfx.utils import path_utils

from components.modules import assets


def _model(tmp_path) -> standard_artifacts.Model:
    model = standard_artifacts.Model()
    model.uri = str(tmp_path)
    return model


def test_json_files_round_trip_through_the_model_uri(tmp_path):
    model = _model(tmp_path)
    export_dir = path_utils.serving_model_path(model.uri)
    assets.write_json(export_dir, assets.CLASS_NAMES_FILE, ["b", "a"])
    assets.write_json(export_dir, assets.TRAINING_SUMMARY_FILE, {"best_epoch": 3})
    assert assets.read_class_names(model.uri) == ["b", "a"]
    assert assets.read_training_summary(model.uri) == {"best_epoch": 3}


def test_served_schema_is_read_from_the_model_and_absent_for_older_models(tmp_path):
    model = _model(tmp_path)
    assert assets.read_schema(model.uri) is None  # exported before the Trainer shipped one
    schema = schema_pb2.Schema()
    schema.feature.add(name="speed", type=schema_pb2.FLOAT)
    path = os.path.join(path_utils.serving_model_path(model.uri), assets.SCHEMA_FILE)
    os.makedirs(os.path.dirname(path))
    tfdv.write_schema_text(schema, path)
    assert assets.read_schema(model.uri) == schema


def test_a_pushed_model_directory_is_read_as_it_is(tmp_path):
    assert assets.read_exported_schema(str(tmp_path)) is None
    assets.write_json(str(tmp_path), assets.SERVING_FEATURES_FILE, ["a", "b"])
    assert assets.read_exported_json(str(tmp_path), assets.SERVING_FEATURES_FILE) == ["a", "b"]
    schema = schema_pb2.Schema()
    schema.feature.add(name="speed", type=schema_pb2.INT)
    tfdv.write_schema_text(schema, os.path.join(str(tmp_path), assets.SCHEMA_FILE))
    assert assets.read_exported_schema(str(tmp_path)) == schema
