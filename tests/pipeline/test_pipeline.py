"""The pipeline's structure: one DAG, the right components, wired the right way."""

import json
import os
from unittest import mock

import pytest
import tensorflow_data_validation as tfdv
from tfx.dsl.components.base.base_beam_component import BaseBeamComponent
from tfx.extensions.google_cloud_ai_platform import runner, training_clients
from tfx.utils import json_utils

from pipeline.config import load_config
from pipeline.pipeline import LOCAL_WORKERS, OutputPaths, create_pipeline
from tests.conftest import DATA, REPO

SHUTTLE = os.path.join(DATA, "shuttle.csv.gz")


def _pipeline(*overrides, tmp_path):
    config = load_config(None, list(overrides), data__path=SHUTTLE, data__label="target")
    return create_pipeline(config, OutputPaths(str(tmp_path)))


def _by_id(pipeline):
    return {component.id: component for component in pipeline.components}


def test_components_and_the_edges_that_order_the_gates(tmp_path):
    components = _by_id(_pipeline(tmp_path=tmp_path))
    assert set(components) == {
        "CsvExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "ExampleValidator",
        "ClassSkew",
        "DataChecks",
        "DataGate",
        "Transform",
        "RowCounts",
        "Trainer",
        "LatestBlessedModelResolver",
        "ClassAwareEvaluator",
        "Pusher",
    }

    def upstream(name: str) -> set[str]:
        return {node.id for node in components[name].upstream_nodes}

    # The data checks see the served model; Transform waits for the DataGate's decision
    # without reading it (so its cache survives); training waits for the row counts; the
    # Pusher for the Evaluator's blessing.
    checks = {"ExampleValidator", "ClassSkew", "StatisticsGen", "LatestBlessedModelResolver"}
    assert checks <= upstream("DataChecks") and upstream("DataGate") == {"DataChecks"}
    assert "DataGate" in upstream("Transform")
    assert set(components["Transform"].inputs) == {"examples", "schema"}
    assert {"RowCounts", "Transform"} <= upstream("Trainer")
    assert {"Trainer", "LatestBlessedModelResolver"} <= upstream("ClassAwareEvaluator")
    assert "ClassAwareEvaluator" in upstream("Pusher")


def test_curated_schema_replaces_schema_gen_and_feeds_statistics(tmp_path):
    schema = os.path.join(REPO, "schema", "shuttle.pbtxt")
    components = _by_id(_pipeline(f"data.schema={schema}", tmp_path=tmp_path))
    assert "SchemaGen" not in components
    assert components["ImportSchemaGen"].exec_properties["schema_file"] == schema
    options = tfdv.StatsOptions.from_json(
        components["StatisticsGen"].exec_properties["stats_options_json"]
    )
    assert {f.name for f in options.schema.feature} == {f"A{i}" for i in range(1, 10)} | {"target"}


def test_tuner_feeds_best_hyperparameters_to_the_trainer(tmp_path):
    components = _by_id(_pipeline("training.model=mlp", "tuning.enabled=true", tmp_path=tmp_path))
    assert components["Tuner"].exec_properties["tuner_fn"] == "components.modules.tuning.tuner_fn"
    hyperparameters = components["Trainer"].inputs["hyperparameters"]
    assert hyperparameters.producer_component_id == "Tuner"
    assert "Tuner" not in _by_id(_pipeline(tmp_path=tmp_path))


def test_training_and_tuning_never_receive_the_eval_split(tmp_path):
    """Selection reads a validation part of train; the eval split is the Evaluator's alone."""
    components = _by_id(_pipeline("training.model=mlp", "tuning.enabled=true", tmp_path=tmp_path))
    for name in ("Tuner", "Trainer"):
        for key in ("train_args", "eval_args"):
            assert json.loads(components[name].exec_properties[key]) == {"splits": ["train"]}
    evaluator = components["ClassAwareEvaluator"].exec_properties
    assert evaluator.get("example_splits") is None  # TFX's default: the eval split only


def test_statistics_see_the_label_as_categorical_without_a_curated_schema(tmp_path):
    components = _by_id(_pipeline(tmp_path=tmp_path))
    options = tfdv.StatsOptions.from_json(
        components["StatisticsGen"].exec_properties["stats_options_json"]
    )
    (feature,) = options.schema.feature
    assert feature.name == "target" and feature.int_domain.is_categorical


def test_class_skew_checks_reach_the_component_and_feed_the_gate(tmp_path):
    components = _by_id(_pipeline("class_skew.max_imbalance_ratio.action=gate", tmp_path=tmp_path))
    checks = components["ClassSkew"].exec_properties["checks_json"]
    assert '"max_imbalance_ratio": {"action": "gate"' in checks
    assert components["DataChecks"].inputs["class_skew"].producer_component_id == "ClassSkew"


def test_transform_cache_survives_training_changes(tmp_path):
    first = _by_id(_pipeline(tmp_path=tmp_path))["Transform"].exec_properties["custom_config"]
    second = _by_id(
        _pipeline(
            "training.model=mlp", "training.loss=focal", "tuning.enabled=true", tmp_path=tmp_path
        )
    )
    assert second["Transform"].exec_properties["custom_config"] == first


def test_transform_computes_quantile_positions_only_for_the_piecewise_linear_encoding(tmp_path):
    for encoding, expected in (("zscore", False), ("ple", True)):
        components = _by_id(_pipeline(f"training.numeric_encoding={encoding}", tmp_path=tmp_path))
        transform = json.loads(components["Transform"].exec_properties["custom_config"])
        assert transform.get("quantile_positions", False) is expected


def test_the_hierarchy_goes_to_transform_which_records_it_for_the_trainer(tmp_path):
    flat = _by_id(_pipeline(tmp_path=tmp_path))
    assert "hierarchy" not in json.loads(flat["Transform"].exec_properties["custom_config"])
    components = _by_id(
        _pipeline(f"data.hierarchy={os.path.join(DATA, 'kddcup_hierarchy.csv')}", tmp_path=tmp_path)
    )
    transform = json.loads(components["Transform"].exec_properties["custom_config"])
    # kddcup labels are codes: 0 is "back", a dos attack
    assert transform["hierarchy"]["0"] == "dos" and len(transform["hierarchy"]) == 23
    assert "hierarchy" not in json.loads(components["Trainer"].exec_properties["custom_config"])


def test_evaluator_compares_with_the_latest_blessed_model(tmp_path):
    components = _by_id(_pipeline(tmp_path=tmp_path))
    baseline = components["ClassAwareEvaluator"].inputs["baseline_model"]
    assert baseline.producer_component_id == "LatestBlessedModelResolver"


def test_transform_waits_for_the_data_gate_and_pusher_for_the_blessing(tmp_path):
    components = _by_id(_pipeline(tmp_path=tmp_path))
    assert components["DataGate"] in components["Transform"].upstream_nodes
    assert components["Pusher"].inputs["model_blessing"].producer_component_id == (
        "ClassAwareEvaluator"
    )


def test_module_code_gets_config_by_dotted_path_and_custom_config(tmp_path):
    components = _by_id(
        _pipeline("data.exclude_columns=[A9]", "training.epochs=3", tmp_path=tmp_path)
    )
    transform, trainer = components["Transform"], components["Trainer"]
    assert (
        transform.exec_properties["preprocessing_fn"]
        == "components.modules.preprocessing.preprocessing_fn"
    )
    assert trainer.exec_properties["run_fn"] == "components.modules.training.run_fn"
    custom = trainer.exec_properties["custom_config"]
    assert '"exclude_columns": ["A9"]' in custom and '"epochs": 3' in custom


@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])
def test_direct_runner_options_reach_the_pipeline(mode, tmp_path):
    pipeline = _pipeline(
        f"beam.direct_running_mode={mode}", "beam.direct_num_workers=2", tmp_path=tmp_path
    )
    assert pipeline.beam_pipeline_args == [
        "--runner=FnApiRunner",
        f"--direct_running_mode={mode}",
        "--direct_num_workers=2",
        f"--sdk_container_image={LOCAL_WORKERS}",
    ]


REMOTE_RUNNERS = {
    "DataflowRunner": (
        [
            "beam.project=my-project",
            "beam.region=europe-west4",
            "beam.temp_location=gs://my-bucket/tmp",
            "beam.max_num_workers=8",
        ],
        [
            "--runner=DataflowRunner",
            "--region=europe-west4",
            "--max_num_workers=8",
            "--sdk_container_image=img:1",
            "--project=my-project",
            "--temp_location=gs://my-bucket/tmp",
        ],
    ),
    "FlinkRunner": (
        ["beam.flink_master=flink:8081", "beam.parallelism=4"],
        [
            "--runner=FlinkRunner",
            "--flink_master=flink:8081",
            "--parallelism=4",
            "--environment_type=DOCKER",
            "--environment_config=img:1",
        ],
    ),
    "SparkRunner": (
        [
            "beam.spark_master_url=spark://spark:7077",
            "beam.environment_type=EXTERNAL",
            "beam.environment_config=localhost:50000",
        ],
        [
            "--runner=SparkRunner",
            "--spark_master_url=spark://spark:7077",
            "--environment_type=EXTERNAL",
            "--environment_config=localhost:50000",
        ],
    ),
}


@pytest.mark.parametrize("runner", sorted(REMOTE_RUNNERS))
def test_remote_runner_options_reach_every_beam_component(runner, tmp_path):
    overrides, expected = REMOTE_RUNNERS[runner]
    pipeline = _pipeline(
        f"beam.runner={runner}",
        "vertex.image=img:1",
        "beam.extra_args=[--save_main_session]",
        *overrides,
        tmp_path=tmp_path,
    )
    assert pipeline.beam_pipeline_args == [*expected, "--save_main_session"]
    beam_components = [c.id for c in pipeline.components if isinstance(c, BaseBeamComponent)]
    assert {"CsvExampleGen", "StatisticsGen", "Transform", "ClassAwareEvaluator"} <= set(
        beam_components
    )


def test_bigquery_query_uses_bigquery_example_gen(tmp_path):
    config = load_config(
        None,
        [
            "data.query=SELECT * FROM `p.d.shuttle`",
            "beam.project=p",
            "beam.temp_location=gs://b/tmp",
        ],
        data__label="target",
    )
    pipeline = create_pipeline(config, OutputPaths(str(tmp_path)))
    example_gen = _by_id(pipeline)["BigQueryExampleGen"]
    assert "SELECT * FROM `p.d.shuttle`" in example_gen.exec_properties["input_config"]
    assert '"hash_buckets": 20' in example_gen.exec_properties["output_config"]
    assert {"--project=p", "--temp_location=gs://b/tmp"} <= set(pipeline.beam_pipeline_args)


def test_output_layout(tmp_path):
    paths = OutputPaths(str(tmp_path))
    pipeline = _pipeline(tmp_path=tmp_path)
    assert pipeline.pipeline_info.pipeline_root == paths.pipeline_root
    pusher = _by_id(pipeline)["Pusher"]
    assert paths.serving in pusher.exec_properties["push_destination"]


@pytest.mark.parametrize(
    ("step", "executor"),
    [
        ("Trainer", "tfx.components.trainer.executor.GenericExecutor"),
        ("Tuner", "tfx.extensions.google_cloud_ai_platform.tuner.executor._WorkerExecutor"),
    ],
)
def test_vertex_training_jobs_hand_the_module_its_settings(step, executor, tmp_path):
    """TFX's extension executor builds the CustomJob (Vertex AI's API stubbed out): every
    replica runs the step's own executor with the whole custom_config, as run_fn and
    tuner_fn read it."""
    components = _by_id(
        _pipeline(
            "training.model=mlp",
            "tuning.enabled=true",
            "vertex.image=img:1",
            "vertex.project=p",
            "vertex.region=europe-west4",
            "vertex.training.enabled=true",
            "vertex.training.replica_count=2",
            "vertex.training.parallel_trials=2",
            tmp_path=tmp_path,
        )
    )
    component = components[step]
    launched = {}
    with (
        mock.patch.object(training_clients.VertexJobClient, "create_client"),
        mock.patch.object(runner, "_launch_cloud_training", lambda **job: launched.update(job)),
    ):
        component.executor_spec.executor_class(None).Do({}, {}, component.exec_properties)
    assert (launched["project"], launched["vertex_region"]) == ("p", "europe-west4")
    pools = launched["training_job"]["job_spec"]["worker_pool_specs"]
    assert [pool["replica_count"] for pool in pools] == [1, 1]
    for pool in pools:
        command = pool["container_spec"]["command"]
        assert pool["container_spec"]["image_uri"] == "img:1"
        assert command[command.index("--executor_class_path") + 1] == executor
        exec_properties = json.loads(command[command.index("--exec-properties") + 1])
        custom_config = json_utils.loads(exec_properties["custom_config"])
        assert custom_config["training"]["model"] == "mlp" and custom_config["label"] == "target"
