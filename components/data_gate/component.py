"""DataChecks records the data checks' findings; DataGate stops the run when they failed.

Two thin shells over components.data_gate.checks. The findings go to a
DataCheckReport artifact from a component that always succeeds, so `gate` and
the report can read them; a failed execution publishes no artifacts. DataGate
then fails the run naming each problem (SchemaGateError, exit code 3), so that
nothing downstream runs. Transform waits for DataGate without reading from it,
so that a new decision does not invalidate Transform's cache.
"""

import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.components.example_validator.executor import DEFAULT_FILE_NAME
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components import artifacts
from components.data_gate.checks import anomaly_rows, findings, schema_drift
from components.modules import assets
from components.modules.errors import SchemaGateError


def _load_anomalies(anomalies: tfx.types.standard_artifacts.ExampleAnomalies) -> dict:
    return {
        split: anomalies_pb2.Anomalies.FromString(
            io_utils.read_bytes_file(
                os.path.join(artifact_utils.get_split_uri([anomalies], split), DEFAULT_FILE_NAME)
            )
        )
        for split in artifact_utils.decode_split_names(anomalies.split_names)
    }


@tfx.dsl.components.component
def DataChecks(  # noqa: N802 - TFX component names are classes
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    class_skew: tfx.dsl.components.InputArtifact[artifacts.ClassSkewReport],
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    report: tfx.dsl.components.OutputArtifact[artifacts.DataCheckReport],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
) -> None:
    """Records schema anomalies in any split, columns that differ from the served model's
    schema, and gated class-skew flags; never fails (DataGate decides).

    baseline_model is absent on the first run, and a model exported before the
    Trainer shipped its schema has none: the column check is then skipped.
    """
    served = assets.read_schema(baseline_model.uri) if baseline_model is not None else None
    result = findings(
        anomaly_rows(_load_anomalies(anomalies)),
        schema_drift(artifacts.load_statistics(statistics), served),
        artifacts.read_class_skew(class_skew),
    )
    artifacts.write_json(report.uri, artifacts.DATA_CHECK_FILE, result)


@tfx.dsl.components.component
def DataGate(  # noqa: N802 - TFX component names are classes
    report: tfx.dsl.components.InputArtifact[artifacts.DataCheckReport],
) -> None:
    """Fails the run when the data checks found a problem."""
    result = artifacts.read_data_checks(report)
    if not result["passed"]:
        raise SchemaGateError(result["message"])
