"""The data checks behind DataChecks and the DataGate: plain functions over TFDV protos.

ExampleValidator records anomalies but never stops a pipeline, so a model
trained on data that broke the schema could still be pushed. The DataGate
collects the anomalies of every split, the class-skew flags whose action is
`gate`, and the columns that changed since the served model was trained.

Without a curated schema, SchemaGen infers a new schema from every drop, so
ExampleValidator cannot see a drop whose columns changed. The DataGate
therefore also checks the statistics against the schema the served model (the
latest blessed one) was trained with, which the Trainer ships in its
assets.extra. The Evaluator could not use that model as its baseline on such a
drop either.
"""

from typing import Any

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from components.class_skew.analysis import flag_text

DRIFT_ANOMALIES = frozenset(
    {
        anomalies_pb2.AnomalyInfo.SCHEMA_NEW_COLUMN,
        anomalies_pb2.AnomalyInfo.SCHEMA_MISSING_COLUMN,
        anomalies_pb2.AnomalyInfo.UNEXPECTED_DATA_TYPE,
    }
)
"""The anomalies that change the model's inputs: a new, dropped or retyped column.
The others are normal in a new drop and the retrained model copes with them:
new string values (it builds its own vocabularies) and missing values (it
imputes; TFDV reports them as a low presence fraction or an invalid shape)."""


def anomaly_rows(anomalies: dict[str, anomalies_pb2.Anomalies]) -> list[list[str]]:
    """[split, column or '', description] for every anomaly of every split."""
    found = []
    for split, report in anomalies.items():
        for feature, info in sorted(report.anomaly_info.items()):
            found.append([split, feature, info.description])
        if report.HasField("dataset_anomaly_info"):
            found.append([split, "", report.dataset_anomaly_info.description])
    return found


def schema_drift(
    statistics: dict[str, statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema | None,
) -> list[list[str]]:
    """[column, change] for every column added, dropped or retyped, over all splits.

    None without a baseline schema (the first run, or a model exported without one).
    """
    if schema is None:
        return []
    changes = set()
    for split_statistics in statistics.values():
        report = tfdv.validate_statistics(split_statistics, schema)
        for column, info in report.anomaly_info.items():
            changes.update(
                (column, reason.description)
                for reason in info.reason
                if reason.type in DRIFT_ANOMALIES
            )
    return [list(change) for change in sorted(changes)]


def findings(
    anomalies: list[list[str]], drift: list[list[str]], class_skew: dict[str, Any]
) -> dict[str, Any]:
    """The DataChecks report: what failed, whether the run may go on, and the message."""
    gated = [flag for flag in class_skew["flags"] if flag["action"] == "gate"]
    sections = []
    if anomalies:
        lines = [
            f"{split} split, column {column!r}: {text}" if column else f"{split} split: {text}"
            for split, column, text in anomalies
        ]
        sections.append(
            "the data does not match the schema:\n  - "
            + "\n  - ".join(lines)
            + "\n  Fix the data, or update the curated schema (data.schema) "
            "if the change is intended."
        )
    if drift:
        sections.append(
            "the columns differ from those the served model was trained with:\n  - "
            + "\n  - ".join(f"column {column!r}: {change}" for column, change in drift)
            + "\n  Fix the data; if the change is intended, run with a new --output "
            "directory: the served model cannot be the baseline of one trained on "
            "other columns."
        )
    if gated:
        sections.append(
            "the class distribution failed a gate:\n  - "
            + "\n  - ".join(flag_text(flag) for flag in gated)
            + "\n  Fix the data or the split, or set the check's action to warn."
        )
    return {
        "passed": not sections,
        "anomalies": anomalies,
        "drift": drift,
        "gated_class_skew": gated,
        "message": "\n".join(sections),
    }
