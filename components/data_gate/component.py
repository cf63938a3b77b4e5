"""DataGate: stops the run before Transform when the data fails a data check.

ExampleValidator records anomalies but never stops a pipeline, so a model
trained on data that broke the schema could still be pushed. This component
reads the anomalies of every split and the class-skew flags whose action is
`gate`, and fails the run naming each problem, so nothing downstream runs.

Without a curated schema, SchemaGen infers a new schema from every drop, so
ExampleValidator cannot see a drop whose columns changed. The DataGate
therefore also checks the statistics against the schema the served model (the
latest blessed one) was trained with, which the Trainer ships in its
assets.extra. The Evaluator could not use that model as its baseline on such a
drop either.
"""

import os

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx import v1 as tfx
from tfx.components.example_validator.executor import DEFAULT_FILE_NAME
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components import features
from components.class_skew import ClassSkewReport, flag_text, read_report
from pipeline.errors import SchemaGateError

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


def read_anomalies(
    anomalies: tfx.types.standard_artifacts.ExampleAnomalies,
) -> list[tuple[str, str, str]]:
    """Returns (split, column or '', description) for every anomaly, over all splits."""
    found = []
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(anomalies.uri, f"Split-{split}", DEFAULT_FILE_NAME)
        report = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))
        for feature, info in sorted(report.anomaly_info.items()):
            found.append((split, feature, info.description))
        if report.HasField("dataset_anomaly_info"):
            found.append((split, "", report.dataset_anomaly_info.description))
    return found


def schema_drift(
    statistics: dict[str, statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema,
) -> list[tuple[str, str]]:
    """Returns (column, change) for every column added, dropped or retyped, over all splits."""
    changes = set()
    for split_statistics in statistics.values():
        report = tfdv.validate_statistics(split_statistics, schema)
        for column, info in report.anomaly_info.items():
            changes.update(
                (column, reason.description)
                for reason in info.reason
                if reason.type in DRIFT_ANOMALIES
            )
    return sorted(changes)


def served_schema(model: tfx.types.standard_artifacts.Model) -> schema_pb2.Schema | None:
    """The schema a model was trained with, or None for a model exported without one."""
    path = os.path.join(path_utils.serving_model_path(model.uri), features.SCHEMA_FILE)
    return tfdv.load_schema_text(path) if fileio.exists(path) else None


def drift_from_baseline(
    statistics: tfx.types.standard_artifacts.ExampleStatistics,
    baseline_model: tfx.types.standard_artifacts.Model | None,
) -> list[tuple[str, str]]:
    """Columns changed since the baseline model's schema; none without a baseline schema."""
    schema = served_schema(baseline_model) if baseline_model is not None else None
    if schema is None:
        return []
    splits = artifact_utils.decode_split_names(statistics.split_names)
    return schema_drift(
        {s: stats_artifact_utils.load_statistics(statistics, s).proto() for s in splits}, schema
    )


def gated_skew_flags(report: dict) -> list[str]:
    """The class-skew findings configured to stop the run."""
    return [flag_text(flag) for flag in report["flags"] if flag["action"] == "gate"]


@tfx.dsl.components.component
def DataGate(  # noqa: N802 - TFX component names are classes
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    class_skew: tfx.dsl.components.InputArtifact[ClassSkewReport],
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
) -> None:
    """Fails on schema anomalies in any split, on columns that differ from the served
    model's schema, or on a gated class-skew flag.

    baseline_model is absent on the first run, and a model exported before the
    Trainer shipped its schema has none: the column check is then skipped.
    """
    sections = []
    anomaly_lines = [
        f"{split} split, column {column!r}: {text}" if column else f"{split} split: {text}"
        for split, column, text in read_anomalies(anomalies)
    ]
    if anomaly_lines:
        sections.append(
            "the data does not match the schema:\n  - "
            + "\n  - ".join(anomaly_lines)
            + "\n  Fix the data, or update the curated schema (data.schema) "
            "if the change is intended."
        )
    drift = drift_from_baseline(statistics, baseline_model)
    if drift:
        sections.append(
            "the columns differ from those the served model was trained with:\n  - "
            + "\n  - ".join(f"column {column!r}: {change}" for column, change in drift)
            + "\n  Fix the data; if the change is intended, run with a new --output "
            "directory: the served model cannot be the baseline of one trained on "
            "other columns."
        )
    skew_lines = gated_skew_flags(read_report(class_skew.uri))
    if skew_lines:
        sections.append(
            "the class distribution failed a gate:\n  - "
            + "\n  - ".join(skew_lines)
            + "\n  Fix the data or the split, or set the check's action to warn."
        )
    if sections:
        raise SchemaGateError("\n".join(sections))
