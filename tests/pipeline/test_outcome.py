"""Reading a run: clear errors before any run, and a summary nobody can change by accident."""

import dataclasses
import os
import types

import keras_tuner
import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.components.tuner import executor
from tfx.orchestration import metadata
from tfx.types import standard_artifacts

from components.modules.errors import BadInputError, ExitCode
from pipeline.outcome import read_only, read_outcome
from tests.pipeline import outcomes


def test_no_run_yet_is_bad_input_naming_the_fix(tmp_path):
    with pytest.raises(BadInputError, match="run the pipeline first") as error:
        read_outcome(str(tmp_path / "metadata.sqlite"))
    assert error.value.exit_code == ExitCode.BAD_INPUT


def test_a_store_without_runs_is_bad_input(tmp_path):
    path = str(tmp_path / "metadata.sqlite")
    metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(path))
    with pytest.raises(BadInputError, match="no pipeline run recorded"):
        read_outcome(path)


def test_read_only_freezes_nested_json_data():
    frozen = read_only({"flags": [{"check": "x"}], "n": 1})
    assert isinstance(frozen, types.MappingProxyType) and frozen["flags"][0]["check"] == "x"
    with pytest.raises(TypeError):
        frozen["flags"][0]["check"] = "y"
    with pytest.raises(AttributeError):
        frozen["flags"].append({})


def test_the_outcome_and_its_evaluation_are_immutable():
    run = outcomes.outcome()
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.blessed = False
    with pytest.raises(ValueError, match="read-only"):
        run.evaluation.confusion[0, 0] = 5


class _BatchSizeSearch(keras_tuner.GridSearch):
    """A search without models: a trial's score is its batch size / 100."""

    def run_trial(self, trial, *args, **kwargs):
        return trial.hyperparameters.Choice("batch_size", [16, 64, 32]) / 100


def _record_tuner_run(path: str, outputs: dict) -> None:
    """ML Metadata of a run whose Tuner output these artifacts, as TFX records them."""
    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(path))
    run_type = store.put_context_type(metadata_store_pb2.ContextType(name="pipeline_run"))
    run = metadata_store_pb2.Context(type_id=run_type, name="run-1")
    [run.id] = store.put_contexts([run])
    tuner_type = store.put_execution_type(
        metadata_store_pb2.ExecutionType(name="tfx.components.tuner.component.Tuner")
    )
    execution = metadata_store_pb2.Execution(
        type_id=tuner_type, last_known_state=metadata_store_pb2.Execution.COMPLETE
    )
    recorded = []
    for key, output in outputs.items():
        type_id = store.put_artifact_type(output.artifact_type)
        output.type_id = type_id
        event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.OUTPUT)
        event.path.steps.add().key = key
        recorded.append((output.mlmd_artifact, event))
    store.put_execution(execution, recorded, [run])


def test_the_tuners_trials_are_read_best_first_with_the_chosen_values(tmp_path):
    """From the files TFX's Tuner executor writes, found through the run's ML Metadata."""
    tuner = _BatchSizeSearch(
        objective=keras_tuner.Objective("val_macro_f1", "max"),
        max_trials=3,
        directory=str(tmp_path / "search"),
    )
    tuner.search(verbose=0)
    outputs = {
        "best_hyperparameters": standard_artifacts.HyperParameters(),
        "tuner_results": standard_artifacts.TunerResults(),
    }
    for key, output in outputs.items():
        output.uri = str(tmp_path / key)
        os.makedirs(output.uri)
    executor.write_best_hyperparameters(tuner, {k: [v] for k, v in outputs.items()})
    path = str(tmp_path / "metadata.sqlite")
    _record_tuner_run(path, outputs)

    tuning = read_outcome(path).tuning
    assert tuning["chosen"] == {"batch_size": 64}
    assert [trial["values"]["batch_size"] for trial in tuning["trials"]] == [64, 32, 16]
    assert [trial["score"] for trial in tuning["trials"]] == [0.64, 0.32, 0.16]
    assert len({trial["trial_id"] for trial in tuning["trials"]}) == 3
    with pytest.raises(TypeError):
        tuning["chosen"]["batch_size"] = 16


def test_a_tuner_without_results_leaves_tuning_empty(tmp_path):
    """A failed Tuner outputs nothing; an untuned run has no Tuner at all."""
    path = str(tmp_path / "metadata.sqlite")
    _record_tuner_run(path, {})
    assert read_outcome(path).tuning is None
