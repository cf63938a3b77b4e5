"""Builds the TFMA EvalConfig for K classes once the class names are known.

Every class-based metric is argmax-based: the Evaluator reads the model's
`argmax_one_hot` signature, whose per-class values TFMA's 0.5 binarization turns
into exactly "predicted class == c". On these, micro-averaged recall is
accuracy and macro-averaged recall is balanced accuracy.
"""

import json

from tensorflow_model_analysis.proto import config_pb2

from components import features

OVERALL = config_pb2.SlicingSpec()


def _metric(
    class_name: str, name: str, lower_bound: float | None = None
) -> config_pb2.MetricConfig:
    """A TFMA metric renamed to `name`, with an optional floor on the overall slice."""
    metric = config_pb2.MetricConfig(class_name=class_name, config=json.dumps({"name": name}))
    if lower_bound is not None:
        metric.per_slice_thresholds.append(
            config_pb2.PerSliceMetricThreshold(
                slicing_specs=[OVERALL],
                threshold=config_pb2.MetricThreshold(
                    value_threshold=config_pb2.GenericValueThreshold(
                        lower_bound={"value": lower_bound}
                    )
                ),
            )
        )
    return metric


def build_eval_config(
    class_names: list[str], min_macro_f1: float, slices: list[str]
) -> config_pb2.EvalConfig:
    """Returns the EvalConfig for a model exported by components.trainer.

    Args:
      class_names: classes in score order (the label vocabulary).
      min_macro_f1: lower bound on macro-F1 over the eval split; the blessing gate.
      slices: raw feature columns to slice by, besides the overall slice.
    """
    class_ids = list(range(len(class_names)))
    macro = config_pb2.AggregationOptions(
        macro_average=True, class_weights={i: 1.0 for i in class_ids}
    )
    return config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(
                signature_name="argmax_one_hot",
                preprocessing_function_names=["transform_features"],
                label_key=features.LABEL_KEY,
                prediction_key="predictions",
            )
        ],
        slicing_specs=[OVERALL, *(config_pb2.SlicingSpec(feature_keys=[s]) for s in slices)],
        metrics_specs=[
            config_pb2.MetricsSpec(
                metrics=[
                    config_pb2.MetricConfig(class_name="ExampleCount"),
                    config_pb2.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            ),
            config_pb2.MetricsSpec(
                metrics=[_metric("Recall", "accuracy")],
                aggregate=config_pb2.AggregationOptions(micro_average=True),
            ),
            # Aggregate only, so a threshold here bounds the macro average alone.
            config_pb2.MetricsSpec(
                metrics=[
                    _metric("Recall", "balanced_accuracy"),
                    _metric("Precision", "macro_precision"),
                    _metric("F1Score", "macro_f1", lower_bound=min_macro_f1),
                ],
                aggregate=macro,
            ),
            config_pb2.MetricsSpec(
                metrics=[
                    _metric("Precision", "precision"),
                    _metric("Recall", "recall"),
                    _metric("F1Score", "f1"),
                ],
                binarize=config_pb2.BinarizationOptions(class_ids={"values": class_ids}),
            ),
        ],
    )
