"""The stock TFX template pipeline, the baseline users compare this project with.

What a user builds from the official penguin template and example
(tfx/experimental/templates/penguin, tfx/examples/penguin/penguin_pipeline_local.py):
stock CsvExampleGen (its default 2:1 hash split into train and eval),
StatisticsGen, SchemaGen, ExampleValidator, Transform and Trainer on the module
file bench/stock_template_module.py (z-scored features, plain MLP, unweighted
loss, 100 steps of 20 examples), the latest blessed model resolver, an Evaluator
gated on accuracy >= 0.6 and a Pusher to OUTPUT/serving; LocalDagRunner, with
the penguin example's Beam options. It is not made smarter than the template: a
data set it cannot handle makes it fail, and the benchmark reports that.
`--beam-mode in_memory` runs the DirectRunner in memory with one worker instead,
the template's fastest local options (bench/overhead.py). Logs go to stderr at INFO
with timestamps, as this pipeline's log file has them.

    .venv/bin/python bench/stock_template.py --data DIR_WITH_CSV --label NAME --output DIR
        [--beam-mode multi_processing|in_memory]
"""

import argparse
import glob
import logging as python_logging
import os

import pandas as pd
import tensorflow_model_analysis as tfma
from absl import logging
from tfx import v1 as tfx

MODULE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stock_template_module.py")
TRAIN_STEPS = 100  # the penguin example's TrainArgs
EVAL_STEPS = 5
ACCURACY_THRESHOLD = 0.6
# The penguin example's DirectRunner options. FnApiRunner is the engine the
# DirectRunner picks for batch pipelines; naming it skips Beam 2.77's download of
# the Prism runner, which fails without internet access (pipeline/pipeline.py does
# the same), so the baseline does not pay for a failed download.
BEAM_PIPELINE_ARGS = [
    "--runner=FnApiRunner",
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=0",
]
BEAM_MODES = {
    "multi_processing": BEAM_PIPELINE_ARGS,
    "in_memory": [
        "--runner=FnApiRunner",
        "--direct_running_mode=in_memory",
        "--direct_num_workers=1",
    ],
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # pipeline/runners.py's


def columns(data_dir: str, label: str) -> tuple[list[str], int]:
    """The numeric feature columns and the number of output units (largest int label + 1).

    What the template's features.py and constants.py hold for penguins.
    """
    frame = pd.concat(pd.read_csv(path) for path in sorted(glob.glob(f"{data_dir}/*.csv")))
    numeric = frame.drop(columns=[label]).select_dtypes("number")
    return list(numeric.columns), int(frame[label].max()) + 1


def create_pipeline(
    data_dir: str, label: str, output: str, beam_pipeline_args: list[str] = BEAM_PIPELINE_ARGS
) -> tfx.dsl.Pipeline:
    feature_keys, num_classes = columns(data_dir, label)
    custom_config = {"label": label, "feature_keys": feature_keys}
    example_gen = tfx.components.CsvExampleGen(input_base=data_dir)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file=MODULE_FILE,
        custom_config=custom_config,
    )
    trainer = tfx.components.Trainer(
        module_file=MODULE_FILE,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=TRAIN_STEPS),
        eval_args=tfx.proto.EvalArgs(num_steps=EVAL_STEPS),
        custom_config={**custom_config, "num_classes": num_classes},
    )
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    eval_config = tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=label + "_xf",
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(
                                lower_bound={"value": ACCURACY_THRESHOLD}
                            ),
                            change_threshold=tfma.GenericChangeThreshold(
                                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                absolute={"value": -1e-10},
                            ),
                        ),
                    )
                ]
            )
        ],
    )
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=os.path.join(output, "serving")
            )
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name="stock-template",
        pipeline_root=os.path.join(output, "pipeline"),
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            transform,
            trainer,
            model_resolver,
            evaluator,
            pusher,
        ],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(output, "metadata.sqlite")
        ),
        beam_pipeline_args=beam_pipeline_args,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of CSV files, as the template's")
    parser.add_argument("--label", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--beam-mode",
        choices=list(BEAM_MODES),
        default="multi_processing",
        help="DirectRunner options: the penguin example's (default) or in memory, 1 worker",
    )
    args = parser.parse_args()
    # force: imports have already given the root logger a handler without timestamps.
    python_logging.basicConfig(level=python_logging.INFO, format=LOG_FORMAT, force=True)
    logging.set_verbosity(logging.INFO)
    output = os.path.abspath(args.output)
    data_dir = os.path.abspath(args.data)
    pipeline = create_pipeline(data_dir, args.label, output, BEAM_MODES[args.beam_mode])
    tfx.orchestration.LocalDagRunner().run(pipeline)


if __name__ == "__main__":
    main()
