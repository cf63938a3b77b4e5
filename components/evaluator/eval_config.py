"""Builds the TFMA EvalConfig for K classes once the class names are known.

Every class-based metric is argmax-based: the Evaluator reads the model's
`argmax_one_hot` signature (1 for the predicted class, 0 elsewhere), and the
metrics of components.evaluator.tfma_metrics derive accuracy, balanced accuracy, macro
and per-class precision / recall / F1 (equal to scikit-learn's
classification_report) from one confusion matrix per slice.
"""

import json
from typing import Any

from tensorflow_model_analysis.proto import config_pb2

from components.evaluator import tfma_metrics
from components.evaluator.tfma_metrics import ClassMetric
from components.modules import features

OVERALL = config_pb2.SlicingSpec()
CANDIDATE, BASELINE = "candidate", "baseline"


def parse_slice(text: str) -> tuple[str, str]:
    """'island=Biscoe' -> ('island', 'Biscoe'); raises ValueError otherwise."""
    feature, sep, value = text.partition("=")
    if not sep or not feature or not value:
        raise ValueError(f"slice {text!r} must look like feature=value, e.g. island=Biscoe")
    return feature, value


def _threshold(
    lower_bound: float | None = None, max_drop: float | None = None
) -> config_pb2.MetricThreshold:
    threshold = config_pb2.MetricThreshold()
    if lower_bound is not None:
        threshold.value_threshold.lower_bound.value = lower_bound
    if max_drop is not None:
        threshold.change_threshold.direction = config_pb2.MetricDirection.HIGHER_IS_BETTER
        threshold.change_threshold.absolute.value = -max_drop
    return threshold


def _metric(
    kind: str,
    num_classes: int,
    bounds: list[tuple[config_pb2.SlicingSpec, config_pb2.MetricThreshold]] = (),
) -> config_pb2.MetricConfig:
    """A components.evaluator.tfma_metrics metric, with thresholds on the given slices."""
    metric = config_pb2.MetricConfig(
        class_name=ClassMetric.__name__,
        module=tfma_metrics.__name__,
        config=json.dumps({"kind": kind, "num_classes": num_classes}),
    )
    for slicing_spec, threshold in bounds:
        metric.per_slice_thresholds.append(
            config_pb2.PerSliceMetricThreshold(slicing_specs=[slicing_spec], threshold=threshold)
        )
    return metric


def build_eval_config(
    class_names: list[str], evaluation: dict[str, Any], has_baseline: bool = False
) -> config_pb2.EvalConfig:
    """Returns the EvalConfig for a model exported by components.modules.export.

    Args:
      class_names: classes in score order (the label vocabulary).
      evaluation: the `evaluation` config section (pipeline.config.EvaluationConfig):
        slices and the bounds that decide the blessing. Its min_slice_size is not
        TFMA's: TFMA fails every threshold on a slice it leaves out for size (a
        "Metric not found" on each), so a small unbounded slice would block every
        push; the run's outcome leaves small slices out of the report instead.
      has_baseline: whether a previously blessed model is evaluated alongside.

    Raises:
      ValueError: a class in evaluation.class_recall is not one of class_names.
    """
    class_recall = evaluation["class_recall"]
    slice_floors = evaluation["slice_min_accuracy"]
    unknown = sorted(set(class_recall) - set(class_names))
    if unknown:
        raise ValueError(
            f"evaluation.class_recall names unknown classes {unknown}; "
            f"the classes are {class_names}"
        )
    num_classes = len(class_names)
    named_slices = [parse_slice(text) for text in slice_floors]
    macro_f1_bounds = [(OVERALL, _threshold(evaluation["min_macro_f1"]))]
    if has_baseline:
        drop = evaluation["max_macro_f1_drop"]
        macro_f1_bounds.append((OVERALL, _threshold(max_drop=drop)))
    # Slice floors bound accuracy: TFMA's macro averages are NaN on a slice in
    # which some class has neither examples nor predictions.
    accuracy_bounds = [
        (config_pb2.SlicingSpec(feature_values={feature: value}), _threshold(floor))
        for (feature, value), floor in zip(named_slices, slice_floors.values(), strict=True)
    ]
    model_specs = [_model_spec(CANDIDATE)]
    if has_baseline:
        model_specs.append(_model_spec(BASELINE, is_baseline=True))
    return config_pb2.EvalConfig(
        model_specs=model_specs,
        slicing_specs=[
            OVERALL,
            *(config_pb2.SlicingSpec(feature_keys=[s]) for s in evaluation["slices"]),
            *(config_pb2.SlicingSpec(feature_values={f: v}) for f, v in named_slices),
        ],
        metrics_specs=[
            config_pb2.MetricsSpec(
                metrics=[
                    config_pb2.MetricConfig(class_name="ExampleCount"),
                    config_pb2.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                    _metric("accuracy", num_classes, accuracy_bounds),
                    _metric(
                        "balanced_accuracy",
                        num_classes,
                        [(OVERALL, _threshold(chance_floor(num_classes, evaluation)))],
                    ),
                    _metric("macro_precision", num_classes),
                    _metric("macro_f1", num_classes, macro_f1_bounds),
                ]
            ),
            # One spec per class: TFMA allows one bound per metric and spec.
            *(
                _class_spec(
                    i,
                    num_classes,
                    max(evaluation["min_class_recall"], class_recall.get(name, 0.0)),
                )
                for i, name in enumerate(class_names)
            ),
        ],
    )


def chance_floor(num_classes: int, evaluation: dict[str, Any]) -> float:
    """The balanced accuracy a model must reach to be pushed: chance plus a margin.

    Every constant or random predictor has balanced accuracy 1/K, whatever the
    class shares, so this gate is on by default: a model that learned nothing
    (e.g. from inputs that overflowed) is never blessed, whatever the floors.
    """
    return 1 / num_classes + evaluation["chance_margin"]


def _model_spec(name: str, is_baseline: bool = False) -> config_pb2.ModelSpec:
    return config_pb2.ModelSpec(
        name=name,
        is_baseline=is_baseline,
        signature_name="argmax_one_hot",
        preprocessing_function_names=["transform_features"],
        label_key=features.LABEL_KEY,
        prediction_key="predictions",
    )


def _class_spec(class_id: int, num_classes: int, recall_floor: float) -> config_pb2.MetricsSpec:
    """Precision, recall and F1 of one class, with its recall floor on the overall slice."""
    bounds = [(OVERALL, _threshold(recall_floor))] if recall_floor > 0 else []
    return config_pb2.MetricsSpec(
        metrics=[
            _metric("precision", num_classes),
            _metric("recall", num_classes, bounds),
            _metric("f1", num_classes),
        ],
        binarize=config_pb2.BinarizationOptions(class_ids={"values": [class_id]}),
        model_names=[CANDIDATE],
    )
