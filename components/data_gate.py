"""DataGate: stops the run before Transform when the data fails a data check.

ExampleValidator records anomalies but never stops a pipeline, so a model
trained on data that broke the schema could still be pushed. This component
reads the anomalies of every split and the class-skew flags whose action is
`gate`, and fails the run naming each problem, so nothing downstream runs.
"""

import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.components.example_validator.executor import DEFAULT_FILE_NAME
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.class_skew import ClassSkewReport, flag_text, read_report
from pipeline.errors import SchemaGateError


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


def gated_skew_flags(report: dict) -> list[str]:
    """The class-skew findings configured to stop the run."""
    return [flag_text(flag) for flag in report["flags"] if flag["action"] == "gate"]


@tfx.dsl.components.component
def DataGate(  # noqa: N802 - TFX component names are classes
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    class_skew: tfx.dsl.components.InputArtifact[ClassSkewReport],
) -> None:
    """Fails on schema anomalies in any split or on a gated class-skew flag."""
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
    skew_lines = gated_skew_flags(read_report(class_skew.uri))
    if skew_lines:
        sections.append(
            "the class distribution failed a gate:\n  - "
            + "\n  - ".join(skew_lines)
            + "\n  Fix the data or the split, or set the check's action to warn."
        )
    if sections:
        raise SchemaGateError("\n".join(sections))
