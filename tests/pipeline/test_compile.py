"""The Vertex AI / KFP v2 spec compiled offline from the same create_pipeline."""

import json

import pytest
import yaml

import pipeline.pipeline as pipeline_module
from pipeline import runners
from pipeline.config import load_config
from pipeline.errors import BadInputError

IMAGE = "europe-docker.pkg.dev/my-project/ml/imbalanced-tfx:0.1.0"
VERTEX = [f"vertex.image={IMAGE}", "vertex.pipeline_root=gs://my-bucket/imbalanced"]


def _compile(tmp_path, name="pipeline.json", *overrides):
    config = load_config(
        None,
        [*VERTEX, *overrides],
        data__path="gs://my-bucket/data/shuttle.csv.gz",
        data__label="target",
    )
    path = runners.compile_vertex(config, str(tmp_path / name))
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
        "DataGate",
        "Transform",
        "Trainer",
        "ClassAwareEvaluator",
        "Pusher",
    }
    depends = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert {"ClassSkew", "ExampleValidator"} <= depends["DataGate"]
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
    spec = _compile(tmp_path, "pipeline.yaml", "pipeline.direct_running_mode=multi_processing")
    executors = spec["pipelineSpec"]["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values() if "container" in e} == {IMAGE}
    for component in ("CsvExampleGen", "StatisticsGen", "Transform", "ClassAwareEvaluator"):
        args = executors[f"{component}_executor"]["container"]["args"]
        assert "--direct_running_mode=multi_processing" in args, component
    assert spec["runtimeConfig"]["gcsOutputDirectory"] == "gs://my-bucket/imbalanced/pipeline"
    example_gen = json.dumps(spec["pipelineSpec"]["root"]["dag"]["tasks"]["CsvExampleGen"])
    assert "gs://my-bucket/data" in example_gen and "shuttle.csv.gz" in example_gen


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
        runners.compile_vertex(config, str(tmp_path / "p.json"))
