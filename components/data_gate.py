"""DataGate: stops the run before Transform when the data fails the schema gate.

ExampleValidator records anomalies but never stops a pipeline; a model trained
on data that broke the schema could still be pushed. This component reads the
anomalies of every split and fails the run, naming each anomaly, so nothing
downstream runs.
"""

import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.components.example_validator.executor import DEFAULT_FILE_NAME
from tfx.types import artifact_utils
from tfx.utils import io_utils

from pipeline.errors import SchemaGateError


def read_anomalies(anomalies: tfx.types.standard_artifacts.ExampleAnomalies) -> list[str]:
    """Returns one readable line per anomaly, over all splits."""
    problems = []
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(anomalies.uri, f"Split-{split}", DEFAULT_FILE_NAME)
        report = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))
        for feature, info in sorted(report.anomaly_info.items()):
            problems.append(f"{split} split, column {feature!r}: {info.description}")
        if report.HasField("dataset_anomaly_info"):
            problems.append(f"{split} split: {report.dataset_anomaly_info.description}")
    return problems


@tfx.dsl.components.component
def DataGate(  # noqa: N802 - TFX component names are classes
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
) -> None:
    """Fails when ExampleValidator found anomalies in any split."""
    problems = read_anomalies(anomalies)
    if problems:
        raise SchemaGateError(
            "the data does not match the schema:\n  - "
            + "\n  - ".join(problems)
            + "\nFix the data, or update the curated schema (data.schema) "
            "if the change is intended."
        )
