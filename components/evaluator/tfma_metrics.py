"""TFMA metrics for the Evaluator: argmax metrics from one confusion matrix, AUCs from score counts.

TFMA's own Precision, Recall and F1Score, binarized per class and macro
averaged, run one binary confusion-matrix combiner per class for every example,
in Python: on kddcup (79,000 eval examples, 23 classes) that was 120 of the
Evaluator's 125 seconds. These metrics read TFMA's multi-class confusion matrix
instead, which one combiner builds per slice and model (shared with the
confusion-matrix plot), and compute every value from it once at the end.

ScoreMetric computes one-vs-rest ROC-AUC, PR-AUC and their curves the same
way: one combiner per slice and model counts the scores of every class
(components.evaluator.score_histograms), and every value derives from it.

The argmax values are TFMA's: precision is NaN for a class that is never predicted,
recall NaN for a class without examples, F1 = 2 tp / (2 tp + fp + fn), and a
macro average over all classes is NaN when one of them is.
"""

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.metrics.multi_class_confusion_matrix_metrics import (
    NO_PREDICTED_CLASS_ID,
    multi_class_confusion_matrices,
)

from components.evaluator import score_histograms

ARGMAX = 0.0  # every class score is above 0, so the top class is always the prediction


def counts(matrices, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The [actual, predicted] confusion matrix and the examples of each class.

    An example without a prediction (all scores 0) counts as an example of its
    class and as a prediction of none. An example whose label is not a train
    class (label index -1, possible only if class_skew.missing_class is not a
    gate) is in the matrix's extra last row: a wrong prediction, an example of
    no class, as in TFMA's binarized metrics.
    """
    confusion, examples = np.zeros((num_classes + 1, num_classes)), np.zeros(num_classes)
    for entry, count in matrices.get(ARGMAX, {}).items():
        actual = entry.actual_class_id if entry.actual_class_id >= 0 else num_classes
        if actual < num_classes:
            examples[actual] += count
        if entry.predicted_class_id != NO_PREDICTED_CLASS_ID:
            confusion[actual, entry.predicted_class_id] += count
    return confusion, examples


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.nan)


def scores(confusion: np.ndarray, examples: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 of every class."""
    true_positives = np.diag(confusion)
    predicted = confusion.sum(axis=0)
    false_positives, false_negatives = predicted - true_positives, examples - true_positives
    return {
        "precision": _ratio(true_positives, predicted),
        "recall": _ratio(true_positives, examples),
        "f1": _ratio(2 * true_positives, 2 * true_positives + false_positives + false_negatives),
    }


PER_CLASS = ("precision", "recall", "f1")  # need a MetricsSpec binarized by one class id
OVERALL = {  # name -> (per-class score averaged, or accuracy)
    "macro_precision": "precision",
    "balanced_accuracy": "recall",
    "macro_f1": "f1",
    "accuracy": None,
}


SUPERCLASS = {  # with a class hierarchy: name -> the metric of the superclass confusion matrix
    "superclass_accuracy": "accuracy",
    "superclass_balanced_accuracy": "balanced_accuracy",
    "superclass_macro_f1": "macro_f1",
    "superclass_recall": "recall",  # of one superclass
}
CROSS_SUPERCLASS_ERRORS = "cross_superclass_errors"  # share of wrong predictions


def superclass_counts(
    confusion: np.ndarray, examples: np.ndarray, parent_index: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """`counts` one level up: a prediction's superclass is the predicted class's parent."""
    num_classes = len(parent_index)
    membership = np.eye(max(parent_index) + 1)[parent_index]  # [classes, superclasses]
    rows = np.vstack([membership.T @ confusion[:num_classes], confusion[num_classes:]])
    return rows @ membership, examples[:num_classes] @ membership


def cross_superclass_share(
    confusion: np.ndarray, examples: np.ndarray, parent_index: list[int]
) -> float:
    """Of the wrong predictions, the share whose superclass is wrong too (mistake severity)."""
    wrong = confusion.sum() - np.trace(confusion)
    upper, _ = superclass_counts(confusion, examples, parent_index)
    return float((upper.sum() - np.trace(upper)) / wrong) if wrong else float("nan")


def value(kind: str, confusion: np.ndarray, examples: np.ndarray, class_id: int | None) -> float:
    """One metric value: a class's score, a macro average over all classes, or accuracy."""
    per_class = scores(confusion, examples)
    if kind in PER_CLASS:
        return float(per_class[kind][class_id])
    if OVERALL[kind] is None:
        total = examples.sum()
        return float(np.trace(confusion) / total) if total else float("nan")
    return float(np.mean(per_class[OVERALL[kind]]))


def _key_and_class(
    name: str,
    per_class: bool,
    model_name: str,
    output_name: str,
    sub_key: metric_types.SubKey | None,
    example_weighted: bool,
) -> tuple[metric_types.MetricKey, int | None]:
    """A metric's key and class id; a per-class metric needs a spec binarized by class."""
    class_id = sub_key.class_id if sub_key is not None else None
    if per_class != (class_id is not None):
        raise ValueError(
            f"metric {name!r} needs "
            + ("a MetricsSpec binarized by class_ids" if per_class else "no binarize")
        )
    key = metric_types.MetricKey(
        name=name,
        model_name=model_name,
        output_name=output_name,
        sub_key=sub_key,
        example_weighted=example_weighted,
    )
    return key, class_id


def _computations(
    name: str,
    kind: str,
    num_classes: int,
    eval_config=None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
    parent_index: list[int] | None = None,
    superclass: int | None = None,
) -> metric_types.MetricComputations:
    matrices = multi_class_confusion_matrices(
        thresholds=[ARGMAX],
        eval_config=eval_config,
        model_name=model_name,
        output_name=output_name,
        example_weighted=example_weighted,
    )
    matrices_key = matrices[-1].keys[-1]
    key, class_id = _key_and_class(
        name, kind in PER_CLASS, model_name, output_name, sub_key, example_weighted
    )

    def result(metrics):
        confusion, examples = counts(metrics[matrices_key], max(num_classes, (class_id or 0) + 1))
        if kind == CROSS_SUPERCLASS_ERRORS:
            return {key: cross_superclass_share(confusion, examples, parent_index)}
        if kind in SUPERCLASS:
            upper, upper_examples = superclass_counts(confusion, examples, parent_index)
            return {key: value(SUPERCLASS[kind], upper, upper_examples, superclass)}
        return {key: value(kind, confusion, examples, class_id)}

    return [*matrices, metric_types.DerivedMetricComputation(keys=[key], result=result)]


class ClassMetric(metric_types.Metric):
    """One argmax metric over `num_classes` classes: `kind` is in PER_CLASS or OVERALL, or,
    given each class's superclass (`parent_index`), in SUPERCLASS (superclass_recall of
    `superclass`) or CROSS_SUPERCLASS_ERRORS."""

    def __init__(
        self,
        kind: str,
        num_classes: int,
        name: str | None = None,
        parent_index: list[int] | None = None,
        superclass: int | None = None,
    ):
        kinds = [*PER_CLASS, *OVERALL, *SUPERCLASS, CROSS_SUPERCLASS_ERRORS]
        if kind not in kinds:
            raise ValueError(f"unknown class metric {kind!r}; one of {kinds}")
        if (kind in SUPERCLASS or kind == CROSS_SUPERCLASS_ERRORS) and parent_index is None:
            raise ValueError(f"class metric {kind!r} needs the classes' parent_index")
        if (kind == "superclass_recall") != (superclass is not None):
            raise ValueError("superclass_recall, and only it, takes a superclass")
        super().__init__(
            metric_util.merge_per_key_computations(_computations),
            kind=kind,
            num_classes=num_classes,
            name=name or kind,
            parent_index=parent_index,
            superclass=superclass,
        )


metric_types.register_metric(ClassMetric)


class _ScoreHistogramsCombiner(beam.CombineFn):
    """Counts every class's scores of one slice and model (ScoreHistograms)."""

    def __init__(self, key: metric_types.MetricKey, num_classes: int, eval_config):
        self._key, self._num_classes, self._eval_config = key, num_classes, eval_config

    def create_accumulator(self) -> score_histograms.ScoreHistograms:
        return score_histograms.ScoreHistograms(self._num_classes)

    def add_input(self, accumulator, element: metric_types.StandardMetricInputs):
        label, scores, weight = next(
            metric_util.to_label_prediction_example_weight(
                element,
                eval_config=self._eval_config,
                model_name=self._key.model_name,
                output_name=self._key.output_name,
                example_weighted=self._key.example_weighted,
                flatten=False,
                require_single_example_weight=True,
            )
        )
        accumulator.add(int(np.asarray(label).item()), scores, float(np.asarray(weight).item()))
        return accumulator

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        result = next(accumulators)
        for accumulator in accumulators:
            result.merge(accumulator)
        return result

    def extract_output(self, accumulator):
        return {self._key: accumulator}


SCORE_PER_CLASS = {  # name -> f(positives, negatives), counts by score from the highest down
    "roc_auc": score_histograms.roc_auc,
    "pr_auc": score_histograms.average_precision,
    "roc_curve": score_histograms.roc_curve,  # [points, 2] arrays, for the report
    "pr_curve": score_histograms.pr_curve,
}
SCORE_OVERALL = {"macro_roc_auc": "roc_auc", "macro_pr_auc": "pr_auc"}


def score_value(kind: str, histograms, class_id: int | None) -> float | np.ndarray:
    """A class's AUC or curve, or an AUC's mean over the classes that have one."""
    if kind in SCORE_PER_CLASS:
        return SCORE_PER_CLASS[kind](*histograms.class_counts(class_id))
    per_class = [
        score_value(SCORE_OVERALL[kind], histograms, k) for k in range(histograms.num_classes)
    ]
    defined = [auc for auc in per_class if not np.isnan(auc)]
    return float(np.mean(defined)) if defined else float("nan")


def _score_computations(
    name: str,
    kind: str,
    num_classes: int,
    eval_config=None,
    model_name: str = "",
    output_name: str = "",
    sub_key: metric_types.SubKey | None = None,
    example_weighted: bool = False,
) -> metric_types.MetricComputations:
    counts_key = metric_types.MetricKey(
        name="_score_histograms",
        model_name=model_name,
        output_name=output_name,
        example_weighted=example_weighted,
    )
    counts = metric_types.MetricComputation(
        keys=[counts_key],
        preprocessors=None,
        combiner=_ScoreHistogramsCombiner(counts_key, num_classes, eval_config),
    )
    key, class_id = _key_and_class(
        name, kind in SCORE_PER_CLASS, model_name, output_name, sub_key, example_weighted
    )

    def result(metrics):
        return {key: score_value(kind, metrics[counts_key], class_id)}

    return [counts, metric_types.DerivedMetricComputation(keys=[key], result=result)]


class ScoreMetric(metric_types.Metric):
    """One score-based metric: `kind` is in SCORE_PER_CLASS or SCORE_OVERALL."""

    def __init__(self, kind: str, num_classes: int, name: str | None = None):
        if kind not in SCORE_PER_CLASS and kind not in SCORE_OVERALL:
            raise ValueError(
                f"unknown score metric {kind!r}; one of {[*SCORE_PER_CLASS, *SCORE_OVERALL]}"
            )
        super().__init__(
            metric_util.merge_per_key_computations(_score_computations),
            kind=kind,
            num_classes=num_classes,
            name=name or kind,
        )


metric_types.register_metric(ScoreMetric)
