"""A second data drop whose columns changed, without a curated schema: the schema gate.

One first run pushes a model with the schema it was trained with; every later
drop goes into the same output. The failing drops can share it: a failed run
pushes nothing and blesses nothing, so the first model stays the baseline.
"""

import os
import pathlib

import pandas as pd
import pytest

from components.modules.errors import ExitCode
from tests.conftest import DATA, stratified_sample
from tests.e2e.conftest import pushed_versions, run_cli, run_gate

pytestmark = pytest.mark.e2e


def run_drop(frame: pd.DataFrame, directory: pathlib.Path, output: str, *args: str):
    """Runs the pipeline on `frame`, written as a CSV file in `directory`."""
    data = str(directory / "drop.csv")
    frame.to_csv(data, index=False)
    return run_cli(
        "--data", data, "--label", "target", "--output", output, "--set", "training.epochs=5", *args
    )


@pytest.fixture(scope="module")
def first_drop(shuttle_sample, tmp_path_factory):
    """The output of a first run on the shuttle sample, and that sample."""
    directory = tmp_path_factory.mktemp("drift")
    output = str(directory / "out")
    frame = pd.read_csv(shuttle_sample)
    result = run_drop(frame, directory, output)
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    (version,) = pushed_versions(output)
    assert os.path.exists(os.path.join(version, "assets.extra", "schema.pbtxt"))
    return output, frame


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda frame: frame.assign(sensor_id=range(len(frame))), "sensor_id"),
        (lambda frame: frame.drop(columns=["A3"]), "A3"),
        (lambda frame: frame.assign(A2=frame["A2"].astype(str) + " mm"), "A2"),
    ],
    ids=["new column", "dropped column", "numeric column as text"],
)
def test_a_drop_with_other_columns_stops_before_training(first_drop, tmp_path, change, column):
    output, frame = first_drop
    before = pushed_versions(output)
    result = run_drop(change(frame), tmp_path, output)
    assert result.returncode == ExitCode.SCHEMA_GATE_FAILED, result.stderr + result.stdout
    assert "differ from those the served model was trained with" in result.stderr
    assert f"column {column!r}" in result.stderr and "--output" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Trainer" not in result.stdout
    assert pushed_versions(output) == before
    gate = run_gate(output)
    assert gate.returncode == ExitCode.SCHEMA_GATE_FAILED, gate.stdout + gate.stderr
    assert "vs served model" in gate.stdout and column in gate.stdout


def test_a_drop_with_the_same_columns_passes(first_drop, tmp_path):
    output, _ = first_drop
    before = pushed_versions(output)
    shuttle = pd.read_csv(os.path.join(DATA, "shuttle.csv.gz"))
    other_rows = stratified_sample(shuttle, "target", 150, seed=1)
    # A 5-epoch model on 670 rows is noisy: the no-regression bound is not under test.
    result = run_drop(other_rows, tmp_path, output, "--set", "evaluation.max_macro_f1_drop=1.0")
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    assert len(pushed_versions(output)) == len(before) + 1
