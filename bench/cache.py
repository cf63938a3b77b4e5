"""What the ML Metadata cache saves on a repeated run, and what a training change re-runs.

Runs the default pipeline on the full bundled shuttle data four times into one
fresh output directory: the same command three times, then with only
training.epochs changed. The second run is not fully cached: the resolver now
finds the first run's blessed model, a new baseline input for the Evaluator;
the third shows the steady state. Prints each run's wall time and every component's seconds from ML
Metadata, marking the cached ones.

    .venv/bin/python bench/cache.py [--workdir output/bench/cache]
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

from ml_metadata.proto import metadata_store_pb2

from components.modules.errors import ExitCode
from pipeline.outcome import LatestRun

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = {
    "first run": [],
    "same command again": [],
    "and a third time": [],
    "training.epochs=20": ["training.epochs=20"],
}
CACHED = metadata_store_pb2.Execution.CACHED


def component_seconds(metadata_path: str) -> dict[str, str]:
    """Seconds of each component in the latest run, marked where the cache served it."""
    run = LatestRun(metadata_path)
    return {
        component: f"{elapsed:.1f}"
        + (" (cached)" if run.executions[component].last_known_state == CACHED else "")
        for component, elapsed in run.seconds().items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "cache"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    walls, exit_codes, seconds = [], [], []
    for overrides in RUNS.values():
        sets = [a for o in ["data.schema=schema/shuttle.pbtxt", *overrides] for a in ("--set", o)]
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                os.path.join(REPO, "pipeline_runner.py"),
                "run",
                "--data",
                os.path.join(REPO, "data", "shuttle.csv.gz"),
                "--label",
                "target",
                "--output",
                args.workdir,
                *sets,
            ],
            capture_output=True,
            cwd=REPO,
        )
        walls.append(time.monotonic() - started)
        if result.returncode not in (ExitCode.SUCCESS, ExitCode.METRIC_GATE_FAILED):
            sys.exit(result.stderr.decode()[-2000:])
        exit_codes.append(result.returncode)
        seconds.append(component_seconds(os.path.join(args.workdir, "metadata.sqlite")))
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print("| component | " + " | ".join(f"{name} s" for name in RUNS) + " |")
    print("|---|" + "---|" * len(RUNS))
    for component in seconds[0]:
        print(f"| {component} | " + " | ".join(run.get(component, "-") for run in seconds) + " |")
    print("| **run command, wall** | " + " | ".join(f"**{wall:.0f}**" for wall in walls) + " |")
    print("| exit code | " + " | ".join(str(code) for code in exit_codes) + " |")


if __name__ == "__main__":
    main()
