"""The DataGate's column check: a new drop against the schema the served model trained with."""

import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import standard_artifacts
from tfx.utils import path_utils

from components import features
from components.class_skew import statistics_schema
from components.data_gate import schema_drift, served_schema

LABEL = "target"
FIRST_DROP = pd.DataFrame(
    {
        "speed": [1.0, 2.5, 3.0, 4.5],
        "colour": ["red", "blue", "red", "green"],
        LABEL: [1, 2, 1, 3],
    }
)


def _statistics(frame: pd.DataFrame):
    """Statistics as StatisticsGen computes them: the label marked categorical."""
    options = tfdv.StatsOptions(schema=statistics_schema(LABEL))
    return tfdv.generate_statistics_from_dataframe(frame, options)


@pytest.fixture(scope="module")
def trained_schema():
    """The schema SchemaGen infers from the first drop, as the Trainer ships it."""
    return tfdv.infer_schema(_statistics(FIRST_DROP), infer_feature_shape=True)


def _drift(frame: pd.DataFrame, schema) -> list[tuple[str, str]]:
    statistics = _statistics(frame)
    return schema_drift({"train": statistics, "eval": statistics}, schema)


def test_same_columns_and_types_pass(trained_schema):
    other_rows = pd.DataFrame({"speed": [7.0, 0.5], "colour": ["red", "blue"], LABEL: [2, 3]})
    assert _drift(other_rows, trained_schema) == []


def test_new_column_is_named_once_over_all_splits(trained_schema):
    ((column, change),) = _drift(FIRST_DROP.assign(weight=[1, 2, 3, 4]), trained_schema)
    assert column == "weight" and "new column" in change.lower()


def test_dropped_column_is_named(trained_schema):
    ((column, change),) = _drift(FIRST_DROP.drop(columns=["colour"]), trained_schema)
    assert column == "colour" and "missing" in change


def test_numeric_column_turned_text_is_named_with_both_types(trained_schema):
    as_text = FIRST_DROP.assign(speed=["1.0 km/h", "2.5 km/h", "3 km/h", "4.5 km/h"])
    ((column, change),) = _drift(as_text, trained_schema)
    assert column == "speed" and "FLOAT" in change and "STRING" in change


def test_changes_a_retrained_model_copes_with_pass(trained_schema):
    """New string values, missing values and new classes are normal in a new drop."""
    drop = pd.DataFrame(
        {
            "speed": [1.0, None, 3.0, None],
            "colour": ["purple", None, "red", "teal"],
            LABEL: [1, 2, 4, 5],
        }
    )
    assert tfdv.validate_statistics(_statistics(drop), trained_schema).anomaly_info
    assert _drift(drop, trained_schema) == []


def test_label_type_change_is_named(trained_schema):
    string_labels = FIRST_DROP.assign(**{LABEL: ["a", "b", "a", "c"]})
    assert [column for column, _ in _drift(string_labels, trained_schema)] == [LABEL]


def test_served_schema_is_read_from_the_model_and_absent_for_older_models(trained_schema, tmp_path):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path)
    assert served_schema(model) is None  # a model exported before the Trainer shipped one
    path = os.path.join(path_utils.serving_model_path(model.uri), features.SCHEMA_FILE)
    os.makedirs(os.path.dirname(path))
    tfdv.write_schema_text(trained_schema, path)
    assert served_schema(model) == trained_schema
