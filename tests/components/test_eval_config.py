"""The TFMA EvalConfig built from the class names at run time."""

import json

from tensorflow_model_analysis.metrics import metric_specs

from components.eval_config import build_eval_config


def _names(spec):
    return [json.loads(metric.config)["name"] for metric in spec.metrics if metric.config]


def test_every_class_is_evaluated_and_macro_averages_weight_classes_equally():
    config = build_eval_config(["a", "b", "c"], min_macro_f1=0.5, slices=["island"])
    (model_spec,) = config.model_specs
    assert model_spec.signature_name == "argmax_one_hot"
    assert list(model_spec.preprocessing_function_names) == ["transform_features"]
    by_name = {name: spec for spec in config.metrics_specs for name in _names(spec)}
    assert set(by_name) >= {"accuracy", "balanced_accuracy", "macro_f1", "precision", "recall"}
    assert dict(by_name["macro_f1"].aggregate.class_weights) == {0: 1.0, 1: 1.0, 2: 1.0}
    assert list(by_name["recall"].binarize.class_ids.values) == [0, 1, 2]
    assert by_name["accuracy"].aggregate.micro_average
    assert [list(s.feature_keys) for s in config.slicing_specs] == [[], ["island"]]


def test_the_macro_f1_floor_bounds_only_the_overall_macro_average():
    config = build_eval_config(["a", "b"], min_macro_f1=0.7, slices=["island"])
    thresholds = metric_specs.metric_thresholds_from_metrics_specs(
        config.metrics_specs, eval_config=config
    )
    ((key, bounds),) = thresholds.items()
    assert key.name == "macro_f1" and key.aggregation_type.macro_average
    ((slice_spec, bound),) = bounds
    assert not slice_spec.feature_keys  # the overall slice
    assert bound.lower_bound.value == 0.7
