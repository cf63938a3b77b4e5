"""Builds the TFMA EvalConfig for K classes once the class names are known.

The Evaluator reads the scores the model serves (`serving_default`), so it
gates exactly what is pushed. The metrics of components.evaluator.tfma_metrics
derive accuracy, balanced accuracy, macro and per-class precision / recall / F1
of the top-scoring class (equal to scikit-learn's classification_report) from
one confusion matrix per slice, and one-vs-rest ROC-AUC and PR-AUC per class
and their macro averages (equal to scikit-learn's roc_auc_score and
average_precision_score) from one count of the scores per slice.
"""

import json
from typing import Any

from tensorflow_model_analysis.proto import config_pb2

from components.evaluator import tfma_metrics
from components.evaluator.tfma_metrics import ClassMetric, ScoreMetric
from components.modules import features
from components.modules.hierarchy import Hierarchy

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
    **params: Any,
) -> config_pb2.MetricConfig:
    """A components.evaluator.tfma_metrics metric, with thresholds on the given slices;
    `params` go to its constructor (name, parent_index, superclass)."""
    is_score_metric = kind in tfma_metrics.SCORE_PER_CLASS or kind in tfma_metrics.SCORE_OVERALL
    metric = config_pb2.MetricConfig(
        class_name=(ScoreMetric if is_score_metric else ClassMetric).__name__,
        module=tfma_metrics.__name__,
        config=json.dumps({"kind": kind, "num_classes": num_classes, **params}),
    )
    for slicing_spec, threshold in bounds:
        metric.per_slice_thresholds.append(
            config_pb2.PerSliceMetricThreshold(slicing_specs=[slicing_spec], threshold=threshold)
        )
    return metric


def build_eval_config(
    class_names: list[str],
    evaluation: dict[str, Any],
    has_baseline: bool = False,
    hierarchy: Hierarchy | None = None,
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
      hierarchy: the model's superclasses, if it has them: adds the superclass
        metrics and their floors.

    Raises:
      ValueError: evaluation.class_recall or class_pr_auc names a class that is
        not one of class_names, or superclass_recall one of the superclasses.
    """
    superclass_floors = [
        key
        for key in ("superclass_recall", "min_superclass_recall", "min_superclass_macro_f1")
        if evaluation[key]
    ]
    if superclass_floors and hierarchy is None:
        raise ValueError(
            f"evaluation.{superclass_floors[0]} needs a model trained with a class hierarchy; "
            "set data.hierarchy or drop the superclass floors"
        )
    superclasses = list(hierarchy.superclasses) if hierarchy else []
    for key, names in (
        ("class_recall", class_names),
        ("class_pr_auc", class_names),
        ("superclass_recall", superclasses),
    ):
        unknown = sorted(set(evaluation[key]) - set(names))
        if unknown:
            what = "classes" if names is class_names else "superclasses"
            raise ValueError(
                f"evaluation.{key} names unknown {what} {unknown}; the {what} are {names}"
            )
    slice_floors = evaluation["slice_min_accuracy"]
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
                    _metric("macro_roc_auc", num_classes),
                    _metric("macro_pr_auc", num_classes),
                    *(_superclass_metrics(hierarchy, num_classes, evaluation) if hierarchy else []),
                ]
            ),
            # One spec per class: TFMA allows one bound per metric and spec.
            *(_class_spec(i, name, num_classes, evaluation) for i, name in enumerate(class_names)),
        ],
    )


SUPERCLASS_RECALL = "superclass_recall:"  # + the superclass's name: one metric each


def _superclass_metrics(
    hierarchy: Hierarchy, num_classes: int, evaluation: dict[str, Any]
) -> list[config_pb2.MetricConfig]:
    """Accuracy, balanced accuracy, macro-F1 and every recall one level up, and the share
    of mistakes that cross superclasses; with the superclass floors."""
    parents = {"parent_index": list(hierarchy.parent_index)}
    macro_f1_floor = evaluation["min_superclass_macro_f1"]
    metrics = [
        _metric("superclass_accuracy", num_classes, **parents),
        _metric("superclass_balanced_accuracy", num_classes, **parents),
        _metric(
            "superclass_macro_f1",
            num_classes,
            [(OVERALL, _threshold(macro_f1_floor))] if macro_f1_floor > 0 else [],
            **parents,
        ),
        _metric(tfma_metrics.CROSS_SUPERCLASS_ERRORS, num_classes, **parents),
    ]
    for index, name in enumerate(hierarchy.superclasses):
        floor = class_floor(evaluation, "superclass_recall", name)
        metrics.append(
            _metric(
                "superclass_recall",
                num_classes,
                [(OVERALL, _threshold(floor))] if floor > 0 else [],
                name=SUPERCLASS_RECALL + name,
                superclass=index,
                **parents,
            )
        )
    return metrics


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
        signature_name="serving_default",
        preprocessing_function_names=["transform_features"],
        label_key=features.LABEL_KEY,
        prediction_key="scores",
    )


def _class_spec(
    class_id: int, name: str, num_classes: int, evaluation: dict[str, Any]
) -> config_pb2.MetricsSpec:
    """The metrics of one class, with its recall and PR-AUC floors on the overall slice."""

    def floor(key: str) -> list[tuple[config_pb2.SlicingSpec, config_pb2.MetricThreshold]]:
        bound = class_floor(evaluation, key, name)
        return [(OVERALL, _threshold(bound))] if bound > 0 else []

    return config_pb2.MetricsSpec(
        metrics=[
            _metric("precision", num_classes),
            _metric("recall", num_classes, floor("class_recall")),
            _metric("f1", num_classes),
            _metric("roc_auc", num_classes),
            _metric("pr_auc", num_classes, floor("class_pr_auc")),
            _metric("roc_curve", num_classes),
            _metric("pr_curve", num_classes),
        ],
        binarize=config_pb2.BinarizationOptions(class_ids={"values": [class_id]}),
        model_names=[CANDIDATE],
    )


def class_floor(evaluation: dict[str, Any], key: str, name: str) -> float:
    """A class's floor for `key` (class_recall, class_pr_auc, superclass_recall): its own or
    the one for all."""
    return max(evaluation[f"min_{key}"], evaluation[key].get(name, 0.0))
