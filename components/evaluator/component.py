"""Evaluator whose TFMA config is built at run time from the model's class names.

The number and names of the classes are only known after Transform has built
the label vocabulary, so the pipeline passes the `evaluation` config section
(thresholds, slices) and this executor turns it into a TFMA EvalConfig before
running the stock TFX Evaluator. When the resolver found a previously blessed
model, it is evaluated alongside as the baseline for the no-regression bound.
"""

import json
from typing import Any

import tensorflow_model_analysis as tfma
from tfx.components.evaluator import component as tfx_evaluator
from tfx.components.evaluator import executor as tfx_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import (
    artifact,
    artifact_utils,
    channel,
    standard_artifacts,
    standard_component_specs,
)
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import proto_utils

from components import artifacts
from components.evaluator.eval_config import CANDIDATE, build_eval_config
from components.modules import assets
from components.modules.errors import BadInputError, RowCountError
from components.modules.hierarchy import Hierarchy

OPTIONS_KEY = "evaluation_options"
EVAL_SPLIT = "eval"  # the split the stock Evaluator evaluates when none is configured


def evaluated_examples(evaluation_uri: str) -> int:
    """TFMA's example_count of the candidate model on the overall slice."""
    for metrics in tfma.load_metrics(evaluation_uri):
        if metrics.slice_key.single_slice_keys:
            continue  # a feature slice
        for item in metrics.metric_keys_and_values:
            key = item.key
            if key.name == "example_count" and key.model_name in ("", CANDIDATE):
                if not key.is_diff:
                    return int(item.value.double_value.value)
    return 0


def check_evaluated(evaluation_uri: str, examples: artifact.Artifact, split: str) -> None:
    """Raises RowCountError unless the Evaluator saw every example of `split`."""
    evaluated = evaluated_examples(evaluation_uri)
    expected = artifacts.count_records(artifact_utils.get_split_uri([examples], split))
    if evaluated != expected:
        raise RowCountError(
            f"the Evaluator evaluated {evaluated} of the {expected} examples in the {split} "
            "split, so the model was not pushed. Rerun; if it repeats, run with "
            "beam.direct_running_mode=in_memory."
        )


class Executor(tfx_executor.Executor):
    """Builds the EvalConfig for the model's classes, then evaluates as usual."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        exec_properties = dict(exec_properties)
        evaluation = json.loads(exec_properties.pop(OPTIONS_KEY))
        model_uri = artifact_utils.get_single_uri(input_dict[standard_component_specs.MODEL_KEY])
        class_names = assets.read_class_names(model_uri)
        hierarchy = assets.read_hierarchy(model_uri)
        has_baseline = bool(input_dict.get(standard_component_specs.BASELINE_MODEL_KEY))
        try:
            eval_config = build_eval_config(
                class_names,
                evaluation,
                has_baseline,
                Hierarchy.from_json(hierarchy) if hierarchy else None,
            )
        except ValueError as error:
            raise BadInputError(str(error)) from None
        exec_properties[standard_component_specs.EVAL_CONFIG_KEY] = proto_utils.proto_to_json(
            eval_config
        )
        super().Do(input_dict, output_dict, exec_properties)
        evaluation_uri = artifact_utils.get_single_uri(
            output_dict[standard_component_specs.EVALUATION_KEY]
        )
        artifacts.write_json(
            evaluation_uri,
            artifacts.EVALUATION_CONTEXT_FILE,
            {"class_names": class_names, "options": evaluation, "hierarchy": hierarchy},
        )
        (examples,) = input_dict[standard_component_specs.EXAMPLES_KEY]
        check_evaluated(evaluation_uri, examples, EVAL_SPLIT)


class ClassAwareEvaluatorSpec(standard_component_specs.EvaluatorSpec):
    PARAMETERS = {
        **standard_component_specs.EvaluatorSpec.PARAMETERS,
        OPTIONS_KEY: ExecutionParameter(type=str),
    }


class ClassAwareEvaluator(tfx_evaluator.Evaluator):
    """The TFX Evaluator with per-class metrics over the model's own classes."""

    SPEC_CLASS = ClassAwareEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(
        self,
        examples: channel.BaseChannel,
        model: channel.BaseChannel,
        evaluation: dict[str, Any],
        baseline_model: channel.BaseChannel | None = None,
    ):
        """Args: evaluation is the `evaluation` config section, as a dict."""
        spec = ClassAwareEvaluatorSpec(
            examples=examples,
            model=model,
            baseline_model=baseline_model,
            evaluation_options=json.dumps(evaluation, sort_keys=True),
            evaluation=channel.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=channel.Channel(type=standard_artifacts.ModelBlessing),
        )
        base_beam_component.BaseBeamComponent.__init__(self, spec=spec)
