"""Reads a finished run's outcome from ML Metadata and the Evaluator's output."""

import dataclasses
import json
import os

import numpy as np
import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.types import artifact, artifact_utils

from components.class_skew import flag_text, read_report
from components.eval_config import CANDIDATE
from components.evaluator import CLASS_NAMES_FILE, OPTIONS_FILE
from components.row_counts import read_row_counts
from pipeline.errors import BadInputError

OVERALL_METRICS = ("accuracy", "balanced_accuracy", "macro_precision", "macro_f1")
PER_CLASS_METRICS = ("precision", "recall", "f1")


@dataclasses.dataclass
class RunOutcome:
    """What the latest run produced: blessing, push location and metrics."""

    blessed: bool
    pushed_to: str | None
    example_count: int
    metrics: dict[str, float]
    class_metrics: dict[str, dict[str, float]]  # class name -> metric -> value
    failed_checks: list["Failure"]
    skew_warnings: list[str] = dataclasses.field(default_factory=list)
    class_names: list[str] = dataclasses.field(default_factory=list)
    slice_metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    row_counts: dict | None = None  # components.row_counts: rows per step and split


class LatestRun:
    """The artifacts each component output in the latest pipeline run, from ML Metadata.

    Reads output events of that run's executions (cached ones included), so a
    run that stopped at the DataGate never reports an older run's evaluation.
    """

    def __init__(self, metadata_path: str):
        if not os.path.exists(metadata_path):
            raise BadInputError(f"no pipeline run found at {metadata_path}; run the pipeline first")
        self.store = metadata_store.MetadataStore(
            metadata.sqlite_metadata_connection_config(metadata_path)
        )
        runs = self.store.get_contexts_by_type("pipeline_run")
        if not runs:
            raise BadInputError(f"no pipeline run recorded in {metadata_path}")
        self.run = max(runs, key=lambda context: context.id)
        types = {t.id: t.name for t in self.store.get_execution_types()}
        self.executions = {
            types[execution.type_id].split(".")[-1]: execution
            for execution in sorted(
                self.store.get_executions_by_context(self.run.id), key=lambda e: e.id
            )
        }

    def output(self, component: str, key: str) -> "artifact.Artifact | None":
        """The artifact `component` output under `key` in this run, or None."""
        return self._artifact(component, key, metadata_store_pb2.Event.OUTPUT)

    def input(self, component: str, key: str) -> "artifact.Artifact | None":
        """The artifact `component` read under `key` in this run (also if it failed), or None."""
        return self._artifact(component, key, metadata_store_pb2.Event.INPUT)

    def _artifact(self, component: str, key: str, event_type) -> "artifact.Artifact | None":
        execution = self.executions.get(component)
        if execution is None:
            return None
        events = self.store.get_events_by_execution_ids([execution.id])
        ids = [
            event.artifact_id
            for event in events
            if event.type == event_type and event.path.steps[0].key == key
        ]
        if not ids:
            return None
        (proto,) = self.store.get_artifacts_by_id(ids[:1])
        (artifact_type,) = self.store.get_artifact_types_by_id([proto.type_id])
        return artifact_utils.deserialize_artifact(artifact_type, proto)

    def failed(self, component: str) -> bool:
        execution = self.executions.get(component)
        return (
            execution is not None
            and execution.last_known_state == metadata_store_pb2.Execution.FAILED
        )

    def seconds(self) -> dict[str, float]:
        """Wall seconds of each component in this run."""
        return {
            component: (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000
            for component, e in self.executions.items()
        }


def read_outcome(metadata_path: str) -> RunOutcome | None:
    """Returns the outcome of the latest run, or None if it evaluated no model."""
    run = LatestRun(metadata_path)
    evaluation = run.output("ClassAwareEvaluator", "evaluation")
    blessing = run.output("ClassAwareEvaluator", "blessing")
    if evaluation is None or blessing is None:
        return None
    outcome = read_evaluation(evaluation.uri)
    skew = run.output("ClassSkew", "report")
    if skew is not None:
        flags = read_report(skew.uri)["flags"]
        outcome.skew_warnings = [flag_text(flag) for flag in flags if flag["action"] == "warn"]
    counts = run.output("RowCounts", "report")
    if counts is not None:
        outcome.row_counts = read_row_counts(counts.uri)
    pushed = run.output("Pusher", "pushed_model")
    if pushed is not None and pushed.get_int_custom_property("pushed") == 1:
        outcome.pushed_to = pushed.get_string_custom_property("pushed_destination")
    outcome.blessed = blessing.get_int_custom_property("blessed") == 1
    return outcome


def read_evaluation(evaluation_uri: str) -> RunOutcome:
    """Overall, per-class (by class name) and per-slice metrics of the candidate model."""
    class_names = read_class_names(evaluation_uri)
    options_path = os.path.join(evaluation_uri, OPTIONS_FILE)
    options = _read_json(options_path) if os.path.exists(options_path) else {}  # older runs
    min_slice_size = options.get("min_slice_size", 1)
    metrics, class_metrics, slice_metrics, example_count = {}, {n: {} for n in class_names}, {}, 0
    for slice_metrics_proto in tfma.load_metrics(evaluation_uri):
        slice_name = _slice_text(slice_metrics_proto.slice_key)
        for item in slice_metrics_proto.metric_keys_and_values:
            key, value = item.key, item.value.double_value.value
            if key.model_name not in ("", CANDIDATE) or key.is_diff:
                continue  # the baseline model's values and the differences
            if slice_name != "overall":
                if key.name in (*OVERALL_METRICS, "example_count"):  # not per-class ones
                    slice_metrics.setdefault(slice_name, {})[key.name] = value
            elif key.name == "example_count":
                example_count = int(value)
            elif key.name in OVERALL_METRICS:
                metrics[key.name] = value
            elif key.name in PER_CLASS_METRICS and key.sub_key.HasField("class_id"):
                class_metrics[class_names[key.sub_key.class_id.value]][key.name] = value
    return RunOutcome(
        blessed=False,  # read_outcome sets blessing and push from ML Metadata
        pushed_to=None,
        example_count=example_count,
        metrics=metrics,
        class_metrics=class_metrics,
        failed_checks=metric_failures(evaluation_uri, class_names),
        class_names=class_names,
        slice_metrics={  # evaluation.min_slice_size: too few examples to show
            name: values
            for name, values in slice_metrics.items()
            if values.get("example_count", 0) >= min_slice_size
        },
    )


def _read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_class_names(evaluation_uri: str) -> list[str]:
    return _read_json(os.path.join(evaluation_uri, CLASS_NAMES_FILE))


def read_confusion_matrix(evaluation_uri: str, num_classes: int) -> np.ndarray:
    """Counts [actual, predicted] on the overall slice (argmax predictions)."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for plots in tfma.load_plots(evaluation_uri):
        if plots.slice_key.single_slice_keys:
            continue
        for item in plots.plot_keys_and_values:
            if item.key.model_name not in ("", CANDIDATE):
                continue
            confusion = item.value.multi_class_confusion_matrix_at_thresholds.matrices
            for entry in confusion[0].entries if confusion else []:
                matrix[entry.actual_class_id, entry.predicted_class_id] += int(
                    entry.num_weighted_examples
                )
    return matrix


@dataclasses.dataclass
class Failure:
    """One failed check, in the words a person reads in CI."""

    gate: str  # schema | class_skew | metric
    check: str
    cls: str = ""
    slice: str = ""
    value: str = ""
    bound: str = ""

    def cells(self) -> tuple[str, ...]:
        return (self.gate, self.check, self.cls, self.slice, self.value, self.bound)


def _slice_text(slice_key) -> str:
    parts = []
    for single in slice_key.single_slice_keys:
        kind = single.WhichOneof("kind")
        value = single.bytes_value.decode() if kind == "bytes_value" else getattr(single, kind)
        parts.append(f"{single.column}={value}")
    return ", ".join(parts) or "overall"


def _bound_text(threshold) -> str:
    if threshold.HasField("change_threshold"):
        return f"change >= {threshold.change_threshold.absolute.value:g} vs baseline"
    bound = threshold.value_threshold
    parts = []
    if bound.HasField("lower_bound"):
        parts.append(f">= {bound.lower_bound.value:g}")
    if bound.HasField("upper_bound"):
        parts.append(f"<= {bound.upper_bound.value:g}")
    return " and ".join(parts)


def metric_failures(evaluation_uri: str, class_names: list[str]) -> list[Failure]:
    """The Evaluator's failed thresholds, with class names instead of class ids."""
    failures = []
    validation = tfma.load_validation_result(evaluation_uri)
    for per_slice in validation.metric_validations_per_slice:
        for failure in per_slice.failures:
            key = failure.metric_key
            has_class = key.HasField("sub_key") and key.sub_key.HasField("class_id")
            value = failure.metric_value.double_value.value
            failures.append(
                Failure(
                    gate="metric",
                    check=key.name + (" (change)" if key.is_diff else ""),
                    cls=class_names[key.sub_key.class_id.value] if has_class else "",
                    slice=_slice_text(per_slice.slice_key),
                    value=f"{value:.4f}" if failure.HasField("metric_value") else failure.message,
                    bound=_bound_text(failure.metric_threshold),
                )
            )
    for missing in validation.missing_slices:
        failures.append(Failure("metric", "slice has no examples", slice=str(missing).strip()))
    return failures
