"""Killed, repeated and concurrent runs of the real CLI on the shuttle sample."""

import contextlib
import glob
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from components.modules.errors import ExitCode
from tests.conftest import REPO
from tests.e2e.conftest import FAST, pushed_versions, run_cli

pytestmark = pytest.mark.e2e


def run_args(data: str, output: str) -> list[str]:
    return ["--data", data, "--label", "target", "--output", output, *FAST]


def start_run(args: list[str], **popen) -> subprocess.Popen:
    command = [sys.executable, os.path.join(REPO, "pipeline_runner.py"), "run", *args]
    return subprocess.Popen(command, cwd=REPO, **popen)


def read_logs(output: str) -> str:
    return "".join(pathlib.Path(path).read_text() for path in glob.glob(f"{output}/logs/*.log"))


def kill_when_running(
    args: list[str], output: str, component: str, console: pathlib.Path, sig=signal.SIGKILL
) -> tuple[str, int]:
    """Starts `run` in its own process group, signals the group once `component` runs.

    Watches the run's log, not its console: a component's console line is only
    flushed when it finishes. Returns the killed run's log and exit code.
    """
    with console.open("w") as out:
        process = start_run(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while f"Component {component} is running." not in read_logs(output):
            assert process.poll() is None, f"ended before {component}:\n{console.read_text()}"
            assert time.monotonic() < deadline, f"{component} did not start within 600 s"
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it ended by itself: the assert says why
            os.killpg(process.pid, sig)
        process.wait(timeout=300)
    return read_logs(output), process.returncode


def assert_only_complete_models(output: str) -> None:
    """What TF Serving would see in serving/: whole SavedModels under numeric names only."""
    for version in pushed_versions(output):  # hidden staging folders are not listed
        assert os.path.basename(version).isdigit(), version
        assert os.path.isfile(os.path.join(version, "saved_model.pb")), version
        assert os.path.isdir(os.path.join(version, "variables")), version


def progress_line(stdout: str, component: str) -> str:
    return next(line for line in stdout.splitlines() if line.split()[:1] == [component])


@pytest.mark.parametrize(
    ("component", "sig"), [("Transform", signal.SIGINT), ("Trainer", signal.SIGKILL)]
)
def test_a_run_killed_during_a_component_completes_when_started_again(
    component, sig, shuttle_sample, tmp_path
):
    """Ctrl-C (SIGINT to the process group, inside a Beam step) or a hard kill."""
    output = str(tmp_path / "out")
    args = run_args(shuttle_sample, output)
    console = tmp_path / "killed.txt"
    killed_log, code = kill_when_running(args, output, component, console, sig)
    if sig == signal.SIGINT:
        assert code == 130, console.read_text()
        assert console.read_text().rstrip().endswith("interrupted"), console.read_text()
        assert "error" not in console.read_text() and "Traceback" not in console.read_text()
    assert pushed_versions(output) == []
    assert_only_complete_models(output)

    rerun = run_cli(*args)
    assert rerun.returncode == ExitCode.SUCCESS, rerun.stderr + rerun.stdout
    finished = re.findall(r"Component (\w+) is finished\.", killed_log)
    assert {"CsvExampleGen", "StatisticsGen", "DataGate"} <= set(finished)
    for name in finished:
        if "Resolver" not in name:  # resolvers look for the latest blessed model every run
            assert "(cached)" in progress_line(rerun.stdout, name), name
    assert "(cached)" not in progress_line(rerun.stdout, component)
    assert_only_complete_models(output)
    (version,) = pushed_versions(output)
    assert f"Model blessed and pushed to {version}" in rerun.stdout
    assert "serving_default" in tf.saved_model.load(version).signatures


def test_two_runs_into_different_outputs_at_once_do_not_interfere(shuttle_sample, tmp_path):
    outputs = [str(tmp_path / "first"), str(tmp_path / "second")]
    processes = [
        start_run(run_args(shuttle_sample, output), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for output in outputs
    ]
    results = [process.communicate(timeout=900) for process in processes]
    for process, (stdout, stderr), output, other in zip(
        processes, results, outputs, reversed(outputs), strict=True
    ):
        assert process.returncode == ExitCode.SUCCESS, (stderr + stdout).decode()
        (version,) = pushed_versions(output)
        assert f"Model blessed and pushed to {version}" in stdout.decode()
        assert_only_complete_models(output)
        assert os.path.isfile(os.path.join(output, "metadata.sqlite"))
        log = read_logs(output)
        assert "Component Pusher is finished." in log and other not in log
