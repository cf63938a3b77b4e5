"""The Vertex AI / KFP v2 spec compiled offline from the same create_pipeline."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

import pipeline.pipeline as pipeline_module
from components.modules.errors import BadInputError
from pipeline import vertex
from pipeline.config import load_config
from tests.conftest import REPO

IMAGE = "europe-docker.pkg.dev/my-project/ml/imbalanced-tfx:0.1.0"
VERTEX = [f"vertex.image={IMAGE}", "vertex.pipeline_root=gs://my-bucket/imbalanced"]
BEAM_COMPONENTS = ("CsvExampleGen", "StatisticsGen", "Transform", "ClassAwareEvaluator")


def _compile(tmp_path, name="pipeline.json", *overrides, data="gs://my-bucket/data/shuttle.csv.gz"):
    config = load_config(None, [*VERTEX, *overrides], data__path=data, data__label="target")
    path = vertex.compile_vertex(config, str(tmp_path / name))
    with open(path) as f:
        return yaml.safe_load(f) if name.endswith(".yaml") else json.load(f)


def test_every_component_in_dependency_order(tmp_path):
    spec = _compile(tmp_path)
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
    components = {name for name in tasks if "Resolver" not in name}
    assert components == {
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
        "ClassAwareEvaluator",
        "Pusher",
    }
    depends = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert {"CsvExampleGen", "StatisticsGen", "Transform"} <= depends["RowCounts"]
    assert "RowCounts" in depends["Trainer"]
    assert {"ClassSkew", "ExampleValidator"} <= depends["DataChecks"]
    assert depends["DataGate"] == {"DataChecks"}
    assert "DataGate" in depends["Transform"]
    assert "Transform" in depends["Trainer"]
    assert "Trainer" in depends["ClassAwareEvaluator"]
    assert any("Resolver" in name for name in depends["ClassAwareEvaluator"])


def test_pusher_is_guarded_by_the_blessing(tmp_path):
    pusher = _compile(tmp_path)["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"]
    blessing = pusher["inputs"]["artifacts"]["model_blessing"]["taskOutputArtifact"]
    assert blessing == {"outputArtifactKey": "blessing", "producerTask": "ClassAwareEvaluator"}
    assert "ClassAwareEvaluator" in pusher["dependentTasks"]


def test_image_beam_args_and_pipeline_root(tmp_path):
    spec = _compile(tmp_path, "pipeline.yaml", "beam.direct_running_mode=multi_processing")
    executors = spec["pipelineSpec"]["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values() if "container" in e} == {IMAGE}
    for component in BEAM_COMPONENTS:
        args = executors[f"{component}_executor"]["container"]["args"]
        assert "--direct_running_mode=multi_processing" in args, component
    assert spec["runtimeConfig"]["gcsOutputDirectory"] == "gs://my-bucket/imbalanced/pipeline"
    example_gen = json.dumps(spec["pipelineSpec"]["root"]["dag"]["tasks"]["CsvExampleGen"])
    assert "gs://my-bucket/data" in example_gen and "shuttle.csv.gz" in example_gen


def _executor_args(spec, component):
    return spec["pipelineSpec"]["deploymentSpec"]["executors"][f"{component}_executor"][
        "container"
    ]["args"]


def test_dataflow_options_reach_every_beam_component(tmp_path):
    spec = _compile(
        tmp_path,
        "pipeline.json",
        "beam.runner=DataflowRunner",
        "beam.project=my-project",
        "beam.region=europe-west4",
        "beam.temp_location=gs://my-bucket/tmp",
        "beam.machine_type=n2-standard-4",
    )
    expected = {
        "--runner=DataflowRunner",
        "--project=my-project",
        "--region=europe-west4",
        "--temp_location=gs://my-bucket/tmp",
        "--machine_type=n2-standard-4",
        f"--sdk_container_image={IMAGE}",
    }
    for component in BEAM_COMPONENTS:
        args = _executor_args(spec, component)
        assert expected <= set(args), component
        assert not any(arg.startswith("--direct_") for arg in args), component


def test_bigquery_query_compiles_to_bigquery_example_gen(tmp_path):
    spec = _compile(
        tmp_path,
        "pipeline.json",
        "data.query=SELECT * FROM `my-project.ml.shuttle`",
        "beam.project=my-project",
        "beam.temp_location=gs://my-bucket/tmp",
        data=None,
    )
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
    assert "BigQueryExampleGen" in tasks and "CsvExampleGen" not in tasks
    assert "my-project.ml.shuttle" in json.dumps(tasks["BigQueryExampleGen"])
    assert "BigQueryExampleGen" in tasks["StatisticsGen"]["dependentTasks"]
    assert "--temp_location=gs://my-bucket/tmp" in _executor_args(spec, "BigQueryExampleGen")


def test_curated_schema_is_read_from_the_image(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    spec = _compile(tmp_path, "pipeline.json", "data.schema=schema/shuttle.pbtxt")
    import_schema = json.dumps(spec["pipelineSpec"]["root"]["dag"]["tasks"]["ImportSchemaGen"])
    assert f"{vertex.IMAGE_SCHEMA_DIR}/shuttle.pbtxt" in import_schema
    assert REPO not in json.dumps(spec)


def test_curated_schema_outside_schema_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    outside = tmp_path / "mine.pbtxt"
    outside.write_text((pathlib.Path(REPO) / "schema" / "shuttle.pbtxt").read_text())
    with pytest.raises(BadInputError, match="must be a file in the repository's schema/ folder"):
        _compile(tmp_path, "pipeline.json", f"data.schema={outside}")


def test_every_executor_and_module_function_imports_by_dotted_path(tmp_path):
    """Vertex workers import executors and module code by name; nothing may live in __main__."""
    spec = _compile(tmp_path, "pipeline.json", "training.model=mlp", "tuning.enabled=true")
    dotted = set()
    for executor in spec["pipelineSpec"]["deploymentSpec"]["executors"].values():
        args = executor.get("container", {}).get("args", [])
        if "--executor_class_path" in args:
            dotted.add(args[args.index("--executor_class_path") + 1])
    text = json.dumps(spec)
    for name in ("preprocessing_fn", "run_fn", "tuner_fn"):
        dotted.update(re.findall(rf"components\.\w+\.{name}", text))
    assert len(dotted) >= 10 and not any(path.startswith("__main__") for path in dotted)
    check = (
        "import importlib, sys\n"
        "for path in sys.argv[1:]:\n"
        "    module, _, name = path.rpartition('.')\n"
        "    getattr(importlib.import_module(module), name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", check, *sorted(dotted)],
        cwd=tmp_path,  # not the repository: imports must resolve through the installed package
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_vertex_compiles_the_pipeline_that_create_pipeline_builds(tmp_path, monkeypatch):
    """No second DAG definition: compile goes through create_pipeline, as the local run does."""
    calls = []
    create = pipeline_module.create_pipeline

    def recording_create(*args, **kwargs):
        calls.append(args[1].root)
        return create(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "create_pipeline", recording_create)
    _compile(tmp_path)
    assert calls == ["gs://my-bucket/imbalanced"]


def test_missing_settings_are_named(tmp_path):
    config = load_config(None, [], data__path="gs://b/x.csv", data__label="y")
    with pytest.raises(BadInputError, match="vertex.image, vertex.pipeline_root"):
        vertex.compile_vertex(config, str(tmp_path / "p.json"))


VERTEX_TRAINING = [
    "vertex.training.enabled=true",
    "vertex.project=my-project",
    "vertex.region=europe-west4",
]
TUNED = ["training.model=mlp", "tuning.enabled=true"]


def _parameter(spec, component, name):
    parameters = spec["pipelineSpec"]["root"]["dag"]["tasks"][component]["inputs"]["parameters"]
    return parameters[name]["runtimeValue"]["constantValue"]["stringValue"]


def _custom_config(spec, component):
    return json.loads(_parameter(spec, component, "custom_config"))


def test_vertex_training_off_compiles_exactly_the_stock_trainer_and_tuner(tmp_path):
    """Its settings without enabled=true change no byte of the spec."""
    absent = tmp_path / "absent.json"
    _compile(tmp_path, absent.name, *TUNED)
    _compile(
        tmp_path,
        "off.json",
        *TUNED,
        "vertex.training.enabled=false",
        "vertex.training.machine_type=n1-highmem-8",
        "vertex.training.replica_count=3",
        "vertex.training.parallel_trials=4",
    )
    assert absent.read_bytes() == (tmp_path / "off.json").read_bytes()
    spec = json.loads(absent.read_text())
    assert _executor_args(spec, "Trainer")[1] == "tfx.components.trainer.executor.GenericExecutor"
    assert _executor_args(spec, "Tuner")[1] == "tfx.components.tuner.executor.Executor"
    assert not any(key.startswith("ai_platform") for key in _custom_config(spec, "Trainer"))


def test_vertex_training_compiles_the_machines_into_the_trainer_and_tuner(tmp_path):
    spec = _compile(
        tmp_path,
        "pipeline.json",
        *TUNED,
        *VERTEX_TRAINING,
        "vertex.training.machine_type=n1-highmem-8",
        "vertex.training.accelerator_type=NVIDIA_TESLA_T4",
        "vertex.training.accelerator_count=2",
        "vertex.training.replica_count=3",
        "vertex.training.parallel_trials=4",
    )
    machine = {
        "machine_type": "n1-highmem-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 2,
    }
    for component, job_key, workers in (
        ("Trainer", "ai_platform_training_args", 2),
        ("Tuner", "ai_platform_tuning_args", 3),
    ):
        custom_config = _custom_config(spec, component)
        assert custom_config["ai_platform_enable_vertex"] is True
        assert custom_config["ai_platform_vertex_region"] == "europe-west4"
        job = custom_config[job_key]
        assert job["project"] == "my-project"
        pools = job["job_spec"]["worker_pool_specs"]
        assert [pool["replica_count"] for pool in pools] == [1, workers]  # chief, then workers
        assert all(pool["machine_spec"] == machine for pool in pools)
        assert all(pool["container_spec"] == {"image_uri": IMAGE} for pool in pools)
        # The module's own settings travel beside the job's, as run_fn and tuner_fn read them.
        assert custom_config["label"] == "target" and custom_config["training"]["model"] == "mlp"
        assert _executor_args(spec, component)[1].startswith(
            "tfx.extensions.google_cloud_ai_platform."
        )
    assert json.loads(_parameter(spec, "Tuner", "tune_args")) == {"num_parallel_trials": 4}


def test_vertex_training_region_and_one_replica(tmp_path):
    spec = _compile(tmp_path, "pipeline.json", *VERTEX_TRAINING, "vertex.training.region=us-east1")
    custom_config = _custom_config(spec, "Trainer")
    assert custom_config["ai_platform_vertex_region"] == "us-east1"
    (chief,) = custom_config["ai_platform_training_args"]["job_spec"]["worker_pool_specs"]
    assert chief["machine_spec"] == {"machine_type": "n1-standard-4"}
    assert chief["replica_count"] == 1


def test_scale_out_config_puts_beam_on_dataflow_and_training_on_vertex(tmp_path):
    config = load_config(
        os.path.join(REPO, "conf", "scale-out.yaml"),
        data__path="gs://my-bucket/data/shuttle.csv.gz",
        data__label="target",
    )
    with open(vertex.compile_vertex(config, str(tmp_path / "pipeline.json"))) as f:
        spec = json.load(f)
    dataflow = {
        "--runner=DataflowRunner",
        "--project=my-project",
        "--region=europe-west4",
        "--temp_location=gs://my-bucket/beam-tmp",
        "--machine_type=n2-standard-4",
        "--max_num_workers=10",
        f"--sdk_container_image={config.vertex.image}",
    }
    for component in BEAM_COMPONENTS:
        assert dataflow <= set(_executor_args(spec, component)), component
    job = _custom_config(spec, "Trainer")["ai_platform_training_args"]
    (chief,) = job["job_spec"]["worker_pool_specs"]
    assert chief["machine_spec"] == {"machine_type": "n1-highmem-8"}
    assert chief["container_spec"] == {"image_uri": config.vertex.image}
