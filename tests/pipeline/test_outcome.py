"""Reading a run: clear errors before any run, and a summary nobody can change by accident."""

import dataclasses
import types

import pytest
from ml_metadata.metadata_store import metadata_store
from tfx.orchestration import metadata

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
