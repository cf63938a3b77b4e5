"""Every file this project's components write into an artifact, declared once with its reader.

The custom artifact types (namespaced: KFP / Vertex AI accept custom types only
as "namespace.Name"), the files inside them and the properties set on them.
The files beside an exported model are in components.modules.assets; TFX's own
artifacts are read with TFX's and TFMA's utilities.
"""

import json
import os
from typing import Any

import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.io import fileio
from tfx.types import artifact, artifact_utils


class ClassSkewReport(artifact.Artifact):
    """Class counts, skew measures and flags per split (CLASS_SKEW_FILE, ..._SUMMARY_FILE)."""

    TYPE_NAME = "imbalanced_tfx.ClassSkewReport"


class DataCheckReport(artifact.Artifact):
    """The data checks' findings and whether the data passed (DATA_CHECK_FILE)."""

    TYPE_NAME = "imbalanced_tfx.DataCheckReport"


class RowCountReport(artifact.Artifact):
    """Rows per step and split (ROW_COUNTS_FILE)."""

    TYPE_NAME = "imbalanced_tfx.RowCountReport"


CLASS_SKEW_FILE = "class_skew.json"
CLASS_SKEW_SUMMARY_FILE = "summary.txt"  # the same findings as a table, for a person
DATA_CHECK_FILE = "data_checks.json"
ROW_COUNTS_FILE = "row_counts.json"
EVALUATION_CONTEXT_FILE = "class_evaluation.json"
"""Written beside TFMA's output: the class names and the `evaluation` options it used."""

CSV_ROWS_PROPERTY = "csv_rows"  # on CsvExampleGen's examples: data rows read


def write_text(uri: str, name: str, text: str) -> None:
    # fileio, not open(): the artifact may live on GCS.
    with fileio.open(os.path.join(uri, name), "w") as f:
        f.write(text)


def write_json(uri: str, name: str, value: Any) -> None:
    write_text(uri, name, json.dumps(value, indent=2))


def _read_json(uri: str, name: str) -> Any:
    with fileio.open(os.path.join(uri, name)) as f:
        return json.load(f)


def read_class_skew(report: artifact.Artifact) -> dict[str, Any]:
    return _read_json(report.uri, CLASS_SKEW_FILE)


def read_data_checks(report: artifact.Artifact) -> dict[str, Any]:
    return _read_json(report.uri, DATA_CHECK_FILE)


def read_row_counts(report: artifact.Artifact) -> dict[str, Any]:
    return _read_json(report.uri, ROW_COUNTS_FILE)


def read_evaluation_context(evaluation_uri: str) -> dict[str, Any]:
    """{'class_names': [...], 'options': the evaluation config section}."""
    return _read_json(evaluation_uri, EVALUATION_CONTEXT_FILE)


def load_statistics(
    statistics: artifact.Artifact,
) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """StatisticsGen's statistics of every split."""
    return {
        split: stats_artifact_utils.load_statistics(statistics, split).proto()
        for split in artifact_utils.decode_split_names(statistics.split_names)
    }


def count_records(split_uri: str) -> int:
    """The number of records in the gzipped TFRecord files of one split directory."""
    files = [path for path in fileio.glob(os.path.join(split_uri, "*")) if not fileio.isdir(path)]
    if not files:
        return 0
    # Batches: one Python step per 4096 records, not per record (about 20x faster).
    batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(4096)
    return sum(int(batch.shape[0]) for batch in batches)


def examples_per_split(examples: artifact.Artifact) -> dict[str, int]:
    """Records of each split of an Examples artifact."""
    return {
        split: count_records(artifact_utils.get_split_uri([examples], split))
        for split in artifact_utils.decode_split_names(examples.split_names)
    }
