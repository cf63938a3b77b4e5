"""Reads a finished run's outcome from ML Metadata and the Evaluator's output."""

import dataclasses
import json
import os

import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from tfx.orchestration import metadata

from components.class_skew import read_report

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
    failed_checks: list[str]
    skew_warnings: list[str] = dataclasses.field(default_factory=list)


def _latest_artifact(store: metadata_store.MetadataStore, type_name: str):
    artifacts = store.get_artifacts_by_type(type_name)
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def component_seconds(metadata_path: str) -> dict[str, float]:
    """Wall seconds of each component's latest execution, from ML Metadata."""
    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    seconds = {}
    for execution in sorted(store.get_executions(), key=lambda e: e.id):
        component = store.get_execution_types_by_id([execution.type_id])[0].name.split(".")[-1]
        elapsed = execution.last_update_time_since_epoch - execution.create_time_since_epoch
        seconds[component] = elapsed / 1000
    return seconds


def read_outcome(metadata_path: str) -> RunOutcome | None:
    """Returns the outcome of the latest evaluated run, or None if nothing was evaluated."""
    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    blessing = _latest_artifact(store, "ModelBlessing")
    evaluation = _latest_artifact(store, "ModelEvaluation")
    if blessing is None or evaluation is None:
        return None
    pushed = _latest_artifact(store, "PushedModel")
    pushed_to = None
    if pushed is not None and pushed.custom_properties["pushed"].int_value == 1:
        pushed_to = pushed.custom_properties["pushed_destination"].string_value
    outcome = read_evaluation(evaluation.uri)
    skew = _latest_artifact(store, "ClassSkewReport")
    if skew is not None:
        outcome.skew_warnings = [
            f"{flag['split']}: {flag['message']} (class_skew.{flag['check']})"
            for flag in read_report(skew.uri)["flags"]
            if flag["action"] == "warn"
        ]
    outcome.blessed = blessing.custom_properties["blessed"].int_value == 1
    outcome.pushed_to = pushed_to
    return outcome


def read_evaluation(evaluation_uri: str) -> RunOutcome:
    """Overall and per-class metrics of the overall slice, by class name."""
    with open(os.path.join(evaluation_uri, "class_names.json"), encoding="utf-8") as f:
        class_names = json.load(f)
    metrics, class_metrics, example_count = {}, {name: {} for name in class_names}, 0
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for item in slice_metrics.metric_keys_and_values:
            key, value = item.key, item.value.double_value.value
            if key.name == "example_count":
                example_count = int(value)
            elif key.name in OVERALL_METRICS:
                metrics[key.name] = value
            elif key.name in PER_CLASS_METRICS and key.sub_key.HasField("class_id"):
                class_metrics[class_names[key.sub_key.class_id.value]][key.name] = value
    validation = tfma.load_validation_result(evaluation_uri)
    failed = [
        f"{failure.metric_key.name} = {failure.metric_value.double_value.value:.4f} "
        f"violates {_bound_text(failure.metric_threshold)}"
        for per_slice in validation.metric_validations_per_slice
        for failure in per_slice.failures
    ]
    return RunOutcome(False, None, example_count, metrics, class_metrics, failed)


def _bound_text(threshold) -> str:
    bound = threshold.value_threshold
    parts = []
    if bound.HasField("lower_bound"):
        parts.append(f">= {bound.lower_bound.value:g}")
    if bound.HasField("upper_bound"):
        parts.append(f"<= {bound.upper_bound.value:g}")
    return " and ".join(parts) or str(threshold).strip()
