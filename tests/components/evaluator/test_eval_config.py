"""The TFMA EvalConfig built from the class names and the evaluation config."""

import json

import pytest
from tensorflow_model_analysis.metrics import metric_specs
from tensorflow_model_analysis.proto import config_pb2

from components.evaluator.eval_config import build_eval_config, parse_slice
from components.modules.hierarchy import Hierarchy
from pipeline.config import EvaluationConfig


def _evaluation(**changes):
    return EvaluationConfig(**changes).model_dump()


def _names(spec):
    """The kinds of the components.class_metrics metrics of a spec (their names too)."""
    return [json.loads(metric.config)["kind"] for metric in spec.metrics if metric.config]


def _thresholds(config):
    """{(metric name, class id or None, slice feature_values): [bounds]}."""
    found = {}
    for key, bounds in metric_specs.metric_thresholds_from_metrics_specs(
        config.metrics_specs, eval_config=config
    ).items():
        class_id = key.sub_key.class_id if key.sub_key else None
        for slice_spec, bound in bounds:
            where = (key.name, class_id, tuple(dict(slice_spec.feature_values).items()))
            found.setdefault(where, []).append(bound)
    return found


def _lower_bounds(config):
    return {
        where: bound.lower_bound.value
        for where, bounds in _thresholds(config).items()
        for bound in bounds
        if isinstance(bound, config_pb2.GenericValueThreshold)
    }


def _changes(config):
    return [
        bound
        for bounds in _thresholds(config).values()
        for bound in bounds
        if isinstance(bound, config_pb2.GenericChangeThreshold)
    ]


def test_every_class_is_evaluated_and_overall_metrics_cover_all_classes():
    config = build_eval_config(["a", "b", "c"], _evaluation(slices=["island"]))
    (model_spec,) = config.model_specs
    assert model_spec.signature_name == "serving_default" and not model_spec.is_baseline
    assert model_spec.prediction_key == "scores"  # the pushed model's own output
    assert list(model_spec.preprocessing_function_names) == ["transform_features"]
    specs = {name: spec for spec in config.metrics_specs for name in _names(spec)}
    overall = specs["macro_f1"]
    assert _names(overall) == [
        "accuracy",
        "balanced_accuracy",
        "macro_precision",
        "macro_f1",
        "macro_roc_auc",
        "macro_pr_auc",
    ]
    assert not overall.HasField("binarize") and not overall.HasField("aggregate")
    assert all(json.loads(m.config)["num_classes"] == 3 for m in overall.metrics if m.config)
    per_class = [s for s in config.metrics_specs if s.binarize.class_ids.values]
    assert [list(s.binarize.class_ids.values) for s in per_class] == [[0], [1], [2]]
    assert all(
        _names(s) == ["precision", "recall", "f1", "roc_auc", "pr_auc", "roc_curve", "pr_curve"]
        for s in per_class
    )
    assert [list(s.feature_keys) for s in config.slicing_specs] == [[], ["island"]]
    assert not config.options.HasField("min_slice_size")  # see build_eval_config


def test_floors_bound_macro_f1_every_class_and_named_classes():
    evaluation = _evaluation(min_macro_f1=0.7, min_class_recall=0.5, class_recall={"c": 0.9})
    bounds = _lower_bounds(build_eval_config(["a", "b", "c"], evaluation))
    assert bounds[("macro_f1", None, ())] == 0.7
    assert {k[1]: v for k, v in bounds.items() if k[0] == "recall"} == {0: 0.5, 1: 0.5, 2: 0.9}


def test_pr_auc_floors_bound_every_class_and_named_classes():
    evaluation = _evaluation(min_class_pr_auc=0.3, class_pr_auc={"a": 0.8})
    bounds = _lower_bounds(build_eval_config(["a", "b", "c"], evaluation))
    assert {k[1]: v for k, v in bounds.items() if k[0] == "pr_auc"} == {0: 0.8, 1: 0.3, 2: 0.3}
    assert not [k for k in bounds if k[0] == "recall"]


def test_named_slice_floor_and_regression_bound_only_with_a_baseline():
    evaluation = _evaluation(slice_min_accuracy={"island=Biscoe": 0.6}, max_macro_f1_drop=0.02)
    first = build_eval_config(["a", "b"], evaluation, has_baseline=False)
    assert len(first.model_specs) == 1
    assert _changes(first) == []
    assert _lower_bounds(first)[("accuracy", None, (("island", "Biscoe"),))] == 0.6

    later = build_eval_config(["a", "b"], evaluation, has_baseline=True)
    assert [spec.is_baseline for spec in later.model_specs] == [False, True]
    (change,) = _changes(later)
    assert change.absolute.value == -0.02
    assert change.direction == config_pb2.MetricDirection.HIGHER_IS_BETTER


@pytest.mark.parametrize("key", ["class_recall", "class_pr_auc"])
def test_unknown_class_floor_names_the_classes(key):
    with pytest.raises(
        ValueError, match=rf"evaluation.{key} names unknown classes \['z'\]; the classes are"
    ):
        build_eval_config(["a", "b"], _evaluation(**{key: {"z": 0.5}}))


def test_parse_slice():
    assert parse_slice("island=Biscoe") == ("island", "Biscoe")
    with pytest.raises(ValueError, match="feature=value"):
        parse_slice("island")


@pytest.mark.parametrize(("classes", "margin"), [(["a", "b"], 0.05), (list("abcdefgh"), 0.1)])
def test_balanced_accuracy_must_beat_chance_by_default(classes, margin):
    evaluation = _evaluation() if margin == 0.05 else _evaluation(chance_margin=margin)
    bounds = _lower_bounds(build_eval_config(classes, evaluation))
    assert bounds[("balanced_accuracy", None, ())] == pytest.approx(1 / len(classes) + margin)


def test_a_hierarchy_adds_superclass_metrics_and_floors():
    hierarchy = Hierarchy.for_classes({"a": "x", "b": "y", "c": "y"}, ["a", "b", "c"])
    evaluation = _evaluation(
        min_superclass_recall=0.4, superclass_recall={"y": 0.9}, min_superclass_macro_f1=0.5
    )
    config = build_eval_config(["a", "b", "c"], evaluation, hierarchy=hierarchy)
    names = {
        m.class_name + ":" + json.loads(m.config).get("name", json.loads(m.config)["kind"])
        for s in config.metrics_specs
        for m in s.metrics
        if m.config
    }
    assert {
        "ClassMetric:superclass_accuracy",
        "ClassMetric:superclass_balanced_accuracy",
        "ClassMetric:superclass_macro_f1",
        "ClassMetric:cross_superclass_errors",
        "ClassMetric:superclass_recall:x",
        "ClassMetric:superclass_recall:y",
    } <= names
    bounds = _lower_bounds(config)
    assert bounds[("superclass_recall:x", None, ())] == 0.4
    assert bounds[("superclass_recall:y", None, ())] == 0.9
    assert bounds[("superclass_macro_f1", None, ())] == 0.5
    flat = build_eval_config(["a", "b", "c"], _evaluation())
    assert not [k for k in _lower_bounds(flat) if k[0].startswith("superclass")]
    with pytest.raises(
        ValueError, match="superclass_recall needs a model trained with a class hierarchy"
    ):
        build_eval_config(["a", "b", "c"], evaluation)


def test_an_unknown_superclass_floor_names_the_superclasses():
    hierarchy = Hierarchy.for_classes({"a": "x", "b": "y"}, ["a", "b"])
    with pytest.raises(ValueError, match=r"unknown superclasses \['z'\]; the superclasses are"):
        build_eval_config(
            ["a", "b"], _evaluation(superclass_recall={"z": 0.5}), hierarchy=hierarchy
        )
