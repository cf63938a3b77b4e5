"""Reads a finished run's outcome once, from ML Metadata and the artifacts it names.

`read_outcome` is the one place that opens a run: the CLI, `gate` and `report`
all work from the immutable RunOutcome it returns (pipeline.verdict decides,
pipeline.render and pipeline.report draw).
"""

import dataclasses
import json
import os
from types import MappingProxyType
from typing import Any

import numpy as np
import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.types import artifact, artifact_utils
from tfx.utils import io_utils

from components import artifacts
from components.evaluator.eval_config import CANDIDATE, SUPERCLASS_RECALL
from components.modules import assets
from components.modules.errors import BadInputError

OVERALL_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_precision",
    "macro_f1",
    "macro_roc_auc",
    "macro_pr_auc",
    # with a class hierarchy:
    "superclass_accuracy",
    "superclass_balanced_accuracy",
    "superclass_macro_f1",
    "cross_superclass_errors",
)
PER_CLASS_METRICS = ("precision", "recall", "f1", "roc_auc", "pr_auc")
# [points, 2] arrays: (false positive rate, true positive rate), (recall, precision)
CURVES = ("roc_curve", "pr_curve")
# The files TFX's Tuner writes: every completed trial, best first, and the values it chose.
TUNER_RESULTS_FILE = "tuner_results.json"
BEST_HYPERPARAMETERS_FILE = "best_hyperparameters.txt"


@dataclasses.dataclass(frozen=True)
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


def read_only_empty() -> MappingProxyType:
    return MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The Evaluator's results for the candidate model, by class name."""

    example_count: int
    metrics: MappingProxyType  # overall metric -> value
    class_names: tuple[str, ...]
    class_metrics: MappingProxyType  # class name -> {precision, recall, f1, roc_auc, pr_auc}
    class_curves: MappingProxyType  # class name -> {roc_curve, pr_curve}, overall slice
    slice_metrics: MappingProxyType  # slice text -> overall metrics (min_slice_size and up)
    failures: tuple[Failure, ...]  # failed thresholds
    confusion: np.ndarray  # [actual, predicted] counts on the overall slice, read-only
    options: MappingProxyType  # the `evaluation` config section it ran with
    # With a class hierarchy (else empty): superclass -> recall, class -> superclass.
    superclass_recall: MappingProxyType = dataclasses.field(default_factory=read_only_empty)
    superclass_of: MappingProxyType = dataclasses.field(default_factory=read_only_empty)

    def __post_init__(self):
        self.confusion.flags.writeable = False


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """Everything the latest run recorded that a person or CI acts on."""

    failed_components: tuple[str, ...]
    class_skew: MappingProxyType | None  # ClassSkew's report
    data_checks: MappingProxyType | None  # DataChecks' findings, which the DataGate acts on
    row_counts: MappingProxyType | None  # rows per step and split
    evaluation: Evaluation | None
    blessed: bool
    pushed_to: str | None
    training: MappingProxyType | None  # the Trainer's summary (assets.extra/training.json)
    tuning: MappingProxyType | None  # the Tuner's trials and chosen values (read_tuning)


class LatestRun:
    """The artifacts each component read and wrote in the latest pipeline run, from ML Metadata.

    Reads the events of that run's executions (cached ones included), so a run
    that stopped at the DataGate never reports an older run's evaluation.
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

    def output(self, component: str, key: str) -> artifact.Artifact | None:
        """The artifact `component` output under `key` in this run, or None."""
        execution = self.executions.get(component)
        if execution is None:
            return None
        events = self.store.get_events_by_execution_ids([execution.id])
        ids = [
            event.artifact_id
            for event in events
            if event.type == metadata_store_pb2.Event.OUTPUT and event.path.steps[0].key == key
        ]
        if not ids:
            return None
        (proto,) = self.store.get_artifacts_by_id(ids[:1])
        (artifact_type,) = self.store.get_artifact_types_by_id([proto.type_id])
        return artifact_utils.deserialize_artifact(artifact_type, proto)

    def failed(self) -> tuple[str, ...]:
        """The components that failed in this run."""
        return tuple(
            name
            for name, execution in self.executions.items()
            if execution.last_known_state == metadata_store_pb2.Execution.FAILED
        )

    def seconds(self) -> dict[str, float]:
        """Wall seconds of each component in this run."""
        return {
            component: (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000
            for component, e in self.executions.items()
        }


def read_only(value: Any) -> Any:
    """A read-only view of JSON-like data: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, dict):
        return MappingProxyType({key: read_only(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(read_only(item) for item in value)
    return value


def read_outcome(metadata_path: str) -> RunOutcome:
    """Reads the latest run under this ML Metadata file once."""
    run = LatestRun(metadata_path)

    def read(component: str, key: str, reader) -> Any:
        found = run.output(component, key)
        return None if found is None else read_only(reader(found))

    evaluation = run.output("ClassAwareEvaluator", "evaluation")
    blessing = run.output("ClassAwareEvaluator", "blessing")
    pushed = run.output("Pusher", "pushed_model")
    tuner_results = run.output("Tuner", "tuner_results")
    best_hyperparameters = run.output("Tuner", "best_hyperparameters")
    was_pushed = pushed is not None and pushed.get_int_custom_property("pushed") == 1
    return RunOutcome(
        failed_components=run.failed(),
        class_skew=read("ClassSkew", "report", artifacts.read_class_skew),
        data_checks=read("DataChecks", "report", artifacts.read_data_checks),
        row_counts=read("RowCounts", "report", artifacts.read_row_counts),
        evaluation=read_evaluation(evaluation.uri) if evaluation is not None else None,
        blessed=blessing is not None and blessing.get_int_custom_property("blessed") == 1,
        pushed_to=pushed.get_string_custom_property("pushed_destination") if was_pushed else None,
        training=read("Trainer", "model", lambda model: assets.read_training_summary(model.uri)),
        tuning=(
            read_only(read_tuning(tuner_results.uri, best_hyperparameters.uri))
            if tuner_results is not None and best_hyperparameters is not None
            else None
        ),
    )


def read_tuning(results_uri: str, best_hyperparameters_uri: str) -> dict[str, Any]:
    """The Tuner's completed trials, best first, and the values the Trainer got.

    Returns {"chosen": {name: value}, "trials": [{"trial_id", "score", "values"}]}.
    """
    rows = json.loads(io_utils.read_string_file(os.path.join(results_uri, TUNER_RESULTS_FILE)))
    best = os.path.join(best_hyperparameters_uri, BEST_HYPERPARAMETERS_FILE)
    chosen = json.loads(io_utils.read_string_file(best))["values"]
    trials = [
        {
            "trial_id": row["trial_id"],
            "score": row["score"],
            "values": {k: v for k, v in row.items() if k not in ("trial_id", "score")},
        }
        for row in rows
    ]
    return {"chosen": chosen, "trials": trials}


def read_evaluation(evaluation_uri: str) -> Evaluation:
    """Overall, per-class (by class name) and per-slice metrics of the candidate model."""
    context = artifacts.read_evaluation_context(evaluation_uri)
    class_names, options = context["class_names"], context["options"]
    metrics, slice_metrics, superclass_recall, example_count = {}, {}, {}, 0
    class_metrics, class_curves = {n: {} for n in class_names}, {n: {} for n in class_names}
    for slice_metrics_proto in tfma.load_metrics(evaluation_uri):
        slice_name = _slice_text(slice_metrics_proto.slice_key)
        for item in slice_metrics_proto.metric_keys_and_values:
            key, value = item.key, item.value.double_value.value
            if key.model_name not in ("", CANDIDATE) or key.is_diff:
                continue  # the baseline model's values and the differences
            class_name = (
                class_names[key.sub_key.class_id.value]
                if key.sub_key.HasField("class_id")
                else None
            )
            if slice_name != "overall":
                if key.name in (*OVERALL_METRICS, "example_count"):  # not per-class ones
                    slice_metrics.setdefault(slice_name, {})[key.name] = value
            elif key.name == "example_count":
                example_count = int(value)
            elif key.name in OVERALL_METRICS:
                metrics[key.name] = value
            elif key.name.startswith(SUPERCLASS_RECALL):
                superclass_recall[key.name.removeprefix(SUPERCLASS_RECALL)] = value
            elif key.name in PER_CLASS_METRICS and class_name is not None:
                class_metrics[class_name][key.name] = value
            elif key.name in CURVES and class_name is not None:
                class_curves[class_name][key.name] = _array(item.value.array_value)
    return Evaluation(
        example_count=example_count,
        metrics=read_only(metrics),
        class_names=tuple(class_names),
        class_metrics=read_only(class_metrics),
        class_curves=read_only(class_curves),
        superclass_recall=read_only(superclass_recall),
        superclass_of=read_only(_superclass_of(class_names, context.get("hierarchy"))),
        slice_metrics=read_only(
            {  # evaluation.min_slice_size: too few examples to show
                name: values
                for name, values in slice_metrics.items()
                if values.get("example_count", 0) >= options["min_slice_size"]
            }
        ),
        failures=_metric_failures(evaluation_uri, class_names),
        confusion=_confusion_matrix(evaluation_uri, len(class_names)),
        options=read_only(options),
    )


def _superclass_of(class_names: list[str], hierarchy: dict | None) -> dict[str, str]:
    if not hierarchy:
        return {}
    superclasses = hierarchy["superclasses"]
    return {
        name: superclasses[i]
        for name, i in zip(class_names, hierarchy["parent_index"], strict=True)
    }


def _array(proto) -> np.ndarray:
    """A TFMA ArrayValue as a read-only float array of its shape."""
    array = np.asarray(proto.float64_values, np.float64).reshape(tuple(proto.shape))
    array.flags.writeable = False
    return array


def _confusion_matrix(evaluation_uri: str, num_classes: int) -> np.ndarray:
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


def _metric_failures(evaluation_uri: str, class_names: list[str]) -> tuple[Failure, ...]:
    """The Evaluator's failed thresholds, with class names instead of class ids."""
    failures = []
    validation = tfma.load_validation_result(evaluation_uri)
    for per_slice in validation.metric_validations_per_slice:
        for failure in per_slice.failures:
            key = failure.metric_key
            has_class = key.HasField("sub_key") and key.sub_key.HasField("class_id")
            value = failure.metric_value.double_value.value
            name, superclass = key.name, ""
            if name.startswith(SUPERCLASS_RECALL):
                name, superclass = "superclass_recall", name.removeprefix(SUPERCLASS_RECALL)
            check = name + (" (change)" if key.is_diff else "")
            if key.name == "balanced_accuracy":  # its only bound: evaluation.chance_margin
                check += f" vs chance (1/{len(class_names)} + evaluation.chance_margin)"
            failures.append(
                Failure(
                    gate="metric",
                    check=check,
                    cls=class_names[key.sub_key.class_id.value] if has_class else superclass,
                    slice=_slice_text(per_slice.slice_key),
                    value=f"{value:.4f}" if failure.HasField("metric_value") else failure.message,
                    bound=_bound_text(failure.metric_threshold),
                )
            )
    for missing in validation.missing_slices:
        failures.append(Failure("metric", "slice has no examples", slice=str(missing).strip()))
    return tuple(failures)
