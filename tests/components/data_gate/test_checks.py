"""The data checks (a new drop against the served model's schema, the findings) and the gate."""

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2

from components import artifacts
from components.class_skew.analysis import statistics_schema
from components.data_gate.checks import anomaly_rows, findings, schema_drift
from components.data_gate.component import DataGate
from components.modules.errors import ExitCode, SchemaGateError

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


def test_no_baseline_schema_means_no_drift():
    assert schema_drift({"train": _statistics(FIRST_DROP)}, None) == []


def test_anomaly_rows_cover_every_split_and_dataset_level_anomalies():
    train = anomalies_pb2.Anomalies()
    train.anomaly_info["speed"].description = "Unexpected string values."
    evaluation = anomalies_pb2.Anomalies()
    evaluation.dataset_anomaly_info.description = "Low number of examples."
    assert anomaly_rows({"train": train, "eval": evaluation}) == [
        ["train", "speed", "Unexpected string values."],
        ["eval", "", "Low number of examples."],
    ]


GATED = {
    "check": "max_imbalance_ratio",
    "action": "gate",
    "split": "train",
    "class": None,
    "value": 15.0,
    "threshold": 10.0,
    "message": "largest/smallest class = 15",
}
WARNED = {**GATED, "action": "warn", "check": "min_class_count"}


def test_clean_data_passes_with_no_message():
    result = findings([], [], {"flags": [WARNED]})
    assert result == {
        "passed": True,
        "anomalies": [],
        "drift": [],
        "gated_class_skew": [],
        "message": "",
    }


def test_every_kind_of_finding_fails_and_is_explained_with_its_fix():
    result = findings(
        [["eval", "sensor_id", "Column dropped"]],
        [["weight", "New column"]],
        {"flags": [GATED, WARNED]},
    )
    assert not result["passed"] and result["gated_class_skew"] == [GATED]
    message = result["message"]
    assert "does not match the schema" in message and "column 'sensor_id'" in message
    assert "differ from those the served model" in message and "'weight'" in message
    assert "class distribution failed a gate" in message
    assert "(class_skew.max_imbalance_ratio)" in message
    assert "min_class_count" not in message  # a warning does not stop the run


def test_the_gate_stops_on_failed_findings_with_their_message(tmp_path):
    report = artifacts.DataCheckReport()
    report.uri = str(tmp_path)
    failed = findings([["eval", "sensor_id", "Column dropped"]], [], {"flags": []})
    artifacts.write_json(report.uri, artifacts.DATA_CHECK_FILE, failed)
    with pytest.raises(SchemaGateError, match="does not match the schema") as error:
        DataGate.EXECUTOR_SPEC.executor_class().Do({"report": [report]}, {}, {})
    assert error.value.exit_code == ExitCode.SCHEMA_GATE_FAILED
    artifacts.write_json(report.uri, artifacts.DATA_CHECK_FILE, findings([], [], {"flags": []}))
    DataGate.EXECUTOR_SPEC.executor_class().Do({"report": [report]}, {}, {})  # passes
