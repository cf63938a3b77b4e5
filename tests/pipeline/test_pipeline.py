"""The pipeline's structure: one DAG, the right components, wired the right way."""

import os

import pytest

from pipeline.config import load_config
from pipeline.pipeline import OutputPaths, create_pipeline
from tests.conftest import DATA, REPO

SHUTTLE = os.path.join(DATA, "shuttle.csv.gz")


def _pipeline(*overrides, tmp_path):
    config = load_config(None, list(overrides), data__path=SHUTTLE, data__label="target")
    return create_pipeline(config, OutputPaths(str(tmp_path)))


def _by_id(pipeline):
    return {component.id: component for component in pipeline.components}


def test_components_in_dependency_order(tmp_path):
    ids = [component.id for component in _pipeline(tmp_path=tmp_path).components]
    assert ids == [
        "CsvExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "ExampleValidator",
        "DataGate",
        "Transform",
        "Trainer",
        "ClassAwareEvaluator",
        "Pusher",
    ]


def test_curated_schema_replaces_schema_gen_and_feeds_statistics(tmp_path):
    schema = os.path.join(REPO, "schema", "shuttle.pbtxt")
    components = _by_id(_pipeline(f"data.schema={schema}", tmp_path=tmp_path))
    assert "SchemaGen" not in components
    assert components["ImportSchemaGen"].exec_properties["schema_file"] == schema
    assert "schema" in components["StatisticsGen"].inputs


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
    assert transform.exec_properties["preprocessing_fn"] == "components.transform.preprocessing_fn"
    assert trainer.exec_properties["run_fn"] == "components.trainer.run_fn"
    custom = trainer.exec_properties["custom_config"]
    assert '"exclude_columns": ["A9"]' in custom and '"epochs": 3' in custom


@pytest.mark.parametrize("mode", ["in_memory", "multi_processing"])
def test_beam_options_reach_the_pipeline(mode, tmp_path):
    pipeline = _pipeline(
        f"pipeline.direct_running_mode={mode}", "pipeline.direct_num_workers=2", tmp_path=tmp_path
    )
    assert f"--direct_running_mode={mode}" in pipeline.beam_pipeline_args
    assert "--direct_num_workers=2" in pipeline.beam_pipeline_args


def test_output_layout(tmp_path):
    paths = OutputPaths(str(tmp_path))
    pipeline = _pipeline(tmp_path=tmp_path)
    assert pipeline.pipeline_info.pipeline_root == paths.pipeline_root
    pusher = _by_id(pipeline)["Pusher"]
    assert paths.serving in pusher.exec_properties["push_destination"]
