"""The one pipeline definition, shared by every runner."""

import dataclasses
import json
import os

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import v1 as tfx
from tfx.extensions.google_cloud_big_query.example_gen.component import BigQueryExampleGen
from tfx.proto import example_gen_pb2
from tfx.utils import io_utils

from components.class_skew.analysis import statistics_schema
from components.class_skew.component import ClassSkew
from components.data_gate.component import DataChecks, DataGate
from components.evaluator.component import ClassAwareEvaluator
from components.example_gen.component import CsvExampleGen, example_gen_options
from components.pusher.component import Pusher
from components.row_counts.component import RowCounts
from pipeline.config import Config
from pipeline.hierarchy import read_hierarchy
from pipeline.preflight import input_location


def read_schema(path: str) -> schema_pb2.Schema:
    return io_utils.parse_pbtxt_file(os.path.abspath(path), schema_pb2.Schema())


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


LOCAL_WORKERS = "none-local-workers"  # DirectRunner workers share this process's packages


def beam_pipeline_args(config: Config) -> list[str]:
    """Beam options passed to every Beam-powered component, from the `beam` config section.

    For the DirectRunner this names FnApiRunner, the engine the DirectRunner uses
    for batch pipelines: that skips Beam 2.77's attempt to download the Prism
    runner at run time. Remote workers run the pipeline's own image (vertex.image)
    so that they can import this package.
    """
    beam = config.beam
    if beam.runner == "DirectRunner":
        runner_options = {
            "runner": "FnApiRunner",
            "direct_running_mode": beam.direct_running_mode,
            "direct_num_workers": str(beam.direct_num_workers),
            # Workers run here, with this environment; naming an image stops TFX from
            # building a throwaway TFX sdist for them before every Beam component (~2 s).
            "sdk_container_image": config.vertex.image or LOCAL_WORKERS,
        }
    elif beam.runner == "DataflowRunner":
        runner_options = {
            "runner": beam.runner,
            "region": beam.region,
            "service_account_email": beam.service_account_email,
            "machine_type": beam.machine_type,
            "max_num_workers": beam.max_num_workers or "",
            "sdk_container_image": config.vertex.image,
        }
    else:  # the portable runners: FlinkRunner, SparkRunner
        runner_options = {
            "runner": beam.runner,
            "flink_master": beam.flink_master,
            "spark_master_url": beam.spark_master_url,
            "parallelism": beam.parallelism or "",
            "environment_type": beam.environment_type,
            "environment_config": beam.environment_config
            or (config.vertex.image if beam.environment_type == "DOCKER" else ""),
        }
    options = {**runner_options, "project": beam.project, "temp_location": beam.temp_location}
    return [f"--{key}={value}" for key, value in options.items() if value] + beam.extra_args


def _column_config(config: Config) -> dict:
    """The label and column choices that Transform and the Trainer both read."""
    return {
        "label": config.data.label,
        "exclude_columns": config.data.exclude_columns,
        "categorical_columns": config.data.categorical_columns,
    }


def transform_config(config: Config) -> dict:
    """Transform's custom_config: only what it uses, so training changes keep its cache.

    The quantile positions only when the MLP's piecewise-linear encoding reads them
    (training.numeric_encoding: ple). With data.hierarchy, the {class: superclass}
    mapping, read here so that workers never need the file; Transform records it in
    the graph, where the Trainer reads it.
    """
    options = _column_config(config)
    if config.training.numeric_encoding == "ple":
        options["quantile_positions"] = True
    if config.data.hierarchy:
        options["hierarchy"] = read_hierarchy(config.data.hierarchy)
    return options


def training_config(config: Config) -> dict:
    """Trainer's and Tuner's custom_config."""
    return {
        **_column_config(config),
        "numeric_columns": config.data.numeric_columns,
        "training": config.training.model_dump(),
        "tuning": config.tuning.model_dump(),
    }


def _vertex_training_jobs(config: Config) -> tuple[dict, dict]:
    """The Trainer's and Tuner's custom_config keys for TFX's Vertex AI Training extension.

    They sit beside the module's own settings: the extension's executors read their keys
    and pass the whole custom_config on to run_fn and tuner_fn.
    """
    cloud = tfx.extensions.google_cloud_ai_platform
    training = config.vertex.training
    on_vertex = {
        cloud.ENABLE_VERTEX_KEY: True,
        cloud.VERTEX_REGION_KEY: training.region or config.vertex.region,
    }
    return (
        {**on_vertex, cloud.TRAINING_ARGS_KEY: _custom_job(config, training.replica_count)},
        {
            **on_vertex,
            cloud.experimental.TUNING_ARGS_KEY: _custom_job(config, training.parallel_trials),
        },
    )


def _custom_job(config: Config, replicas: int) -> dict:
    """A Vertex AI CustomJob of `replicas` machines running vertex.image: a chief, then workers.

    In the extension's format: the project beside the CustomJob, which TFX completes with the
    command that runs the step's executor on every replica.
    """
    vertex = config.vertex
    machine_spec = {"machine_type": vertex.training.machine_type}
    if vertex.training.accelerator_type:
        machine_spec["accelerator_type"] = vertex.training.accelerator_type
        machine_spec["accelerator_count"] = vertex.training.accelerator_count
    pool = {"machine_spec": machine_spec, "container_spec": {"image_uri": vertex.image}}
    pools = [{**pool, "replica_count": 1}]
    if replicas > 1:
        pools.append({**pool, "replica_count": replicas - 1})
    job_spec = {"worker_pool_specs": pools}
    if vertex.service_account:
        job_spec["service_account"] = vertex.service_account
    return {"project": vertex.project, "job_spec": job_spec, "labels": vertex.labels}


def _example_gen(config: Config):
    """CsvExampleGen for files (local or gs://), BigQueryExampleGen for a query.

    Both split into train and eval by data.eval_percent: CSV stratified by class, BigQuery
    by a hash of each row.
    """
    eval_buckets = config.data.eval_percent
    output_config = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=100 - eval_buckets),
                example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=eval_buckets),
            ]
        )
    )
    if config.data.query:
        return BigQueryExampleGen(query=config.data.query, output_config=output_config)
    input_base, pattern = input_location(config.data.path)
    return CsvExampleGen(
        input_base=input_base,
        input_config=example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name="all", pattern=pattern)]
        ),
        output_config=output_config,
        custom_config=example_gen_options(
            config.data.label, config.data.exclude_columns, config.data.csv_format()
        ),
    )


def create_pipeline(
    config: Config,
    paths: OutputPaths,
    metadata_connection_config=None,
    schema_file: str | None = None,
) -> tfx.dsl.Pipeline:
    """Builds the DAG: ExampleGen -> ... -> Evaluator -> Pusher (blessed models only).

    StatisticsGen computes with the curated schema (or an empty one) in which
    the label is marked categorical, so ClassSkew reads exact class counts. The
    curated schema file is read here, when the pipeline is built; `schema_file`
    is where ImportSchemaGen finds it at run time (default: the same local file).
    """
    curated = read_schema(config.data.schema) if config.data.schema else None
    example_gen = _example_gen(config)
    statistics_gen = tfx.components.StatisticsGen(
        examples=example_gen.outputs["examples"],
        stats_options=tfdv.StatsOptions(schema=statistics_schema(config.data.label, curated)),
    )
    if curated is not None:
        schema_gen = tfx.components.ImportSchemaGen(
            schema_file=schema_file or os.path.abspath(config.data.schema)
        )
    else:
        schema_gen = tfx.components.SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
        )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    class_skew = ClassSkew(
        statistics=statistics_gen.outputs["statistics"],
        label=config.data.label,
        checks_json=json.dumps(config.class_skew.model_dump(), sort_keys=True),
    )
    latest_blessed_model = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("LatestBlessedModelResolver")
    # The baseline's schema lets the gate stop a drop whose columns changed.
    data_checks = DataChecks(
        anomalies=example_validator.outputs["anomalies"],
        class_skew=class_skew.outputs["report"],
        statistics=statistics_gen.outputs["statistics"],
        baseline_model=latest_blessed_model.outputs["model"],
    )
    data_gate = DataGate(report=data_checks.outputs["report"])
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn="components.modules.preprocessing.preprocessing_fn",
        custom_config=transform_config(config),
        disable_statistics=True,
    )
    transform.add_upstream_node(data_gate)  # its decision, not an input: Transform stays cached
    row_counts = RowCounts(
        examples=example_gen.outputs["examples"],
        statistics=statistics_gen.outputs["statistics"],
        transformed_examples=transform.outputs["transformed_examples"],
    )
    # Training and tuning get the train split alone, and select on a validation part of
    # it (components.modules.training.validation_rows): the eval split is the gate's.
    train_only = {
        "train_args": tfx.proto.TrainArgs(splits=["train"]),
        "eval_args": tfx.proto.EvalArgs(splits=["train"]),
    }
    trainer_class, tuner_class = tfx.components.Trainer, tfx.components.Tuner
    trainer_job, tuner_job, tune_args = {}, {}, None
    if config.vertex.training.enabled:  # the same steps, each run as a Vertex AI Training job
        cloud = tfx.extensions.google_cloud_ai_platform
        trainer_class, tuner_class = cloud.Trainer, cloud.Tuner
        trainer_job, tuner_job = _vertex_training_jobs(config)
        tune_args = tfx.proto.TuneArgs(num_parallel_trials=config.vertex.training.parallel_trials)
    tuner = None
    if config.tuning.enabled:
        tuner = tuner_class(
            tuner_fn="components.modules.tuning.tuner_fn",
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=schema_gen.outputs["schema"],
            custom_config={**training_config(config), **tuner_job},
            tune_args=tune_args,
            **train_only,
        )
    trainer = trainer_class(
        run_fn="components.modules.training.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        hyperparameters=tuner.outputs["best_hyperparameters"] if tuner else None,
        custom_config={**training_config(config), **trainer_job},
        **train_only,
    )
    for consumer in (tuner, trainer):
        if consumer is not None:
            consumer.add_upstream_node(row_counts)
    evaluator = ClassAwareEvaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=latest_blessed_model.outputs["model"],
        evaluation=config.evaluation.model_dump(),
    )
    pusher = Pusher(
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
            class_skew,
            data_checks,
            data_gate,
            transform,
            row_counts,
            *([tuner] if tuner else []),
            trainer,
            latest_blessed_model,
            evaluator,
            pusher,
        ],
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args(config),
    )
