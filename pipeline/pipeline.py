"""The one pipeline definition, shared by every runner."""

import dataclasses
import os

from tfx import v1 as tfx
from tfx.proto import example_gen_pb2

from components.csv_example_gen import CsvExampleGen
from components.data_gate import DataGate
from components.evaluator import ClassAwareEvaluator
from pipeline.config import Config
from pipeline.inputs import input_location


@dataclasses.dataclass(frozen=True)
class OutputPaths:
    """Where a run writes, all under one output directory."""

    root: str

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.root, "pipeline")

    @property
    def metadata(self) -> str:
        return os.path.join(self.root, "metadata.sqlite")

    @property
    def serving(self) -> str:
        return os.path.join(self.root, "serving")

    @property
    def logs(self) -> str:
        return os.path.join(self.root, "logs")


def beam_pipeline_args(config: Config) -> list[str]:
    """Beam options passed to every Beam-powered component.

    FnApiRunner is the engine the DirectRunner uses for batch pipelines; naming
    it skips Beam 2.77's attempt to download the Prism runner at run time.
    """
    return [
        "--runner=FnApiRunner",
        f"--direct_running_mode={config.pipeline.direct_running_mode}",
        f"--direct_num_workers={config.pipeline.direct_num_workers}",
    ]


def module_config(config: Config) -> dict:
    """What Transform and Trainer module code needs, passed as custom_config."""
    return {
        "label": config.data.label,
        "exclude_columns": config.data.exclude_columns,
        "categorical_columns": config.data.categorical_columns,
        "training": dataclasses.asdict(config.training),
    }


def create_pipeline(
    config: Config,
    paths: OutputPaths,
    metadata_connection_config=None,
) -> tfx.dsl.Pipeline:
    """Builds the DAG: ExampleGen -> ... -> Evaluator -> Pusher (blessed models only)."""
    input_base, pattern = input_location(config.data.path)
    eval_buckets = config.data.eval_percent
    example_gen = CsvExampleGen(
        input_base=input_base,
        input_config=example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name="all", pattern=pattern)]
        ),
        output_config=example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(
                        name="train", hash_buckets=100 - eval_buckets
                    ),
                    example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=eval_buckets),
                ]
            )
        ),
    )
    if config.data.schema:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=os.path.abspath(config.data.schema))
        # The curated schema marks an int label categorical: exact class counts.
        statistics_gen = tfx.components.StatisticsGen(
            examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"]
        )
    else:
        statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
        schema_gen = tfx.components.SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
        )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    data_gate = DataGate(anomalies=example_validator.outputs["anomalies"])
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn="components.transform.preprocessing_fn",
        custom_config=module_config(config),
        disable_statistics=True,
    )
    transform.add_upstream_node(data_gate)
    trainer = tfx.components.Trainer(
        run_fn="components.trainer.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        custom_config=module_config(config),
    )
    evaluator = ClassAwareEvaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        options={
            "min_macro_f1": config.evaluation.min_macro_f1,
            "slices": config.evaluation.slices,
        },
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=paths.serving)
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline.name,
        pipeline_root=paths.pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            data_gate,
            transform,
            trainer,
            evaluator,
            pusher,
        ],
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args(config),
    )
