"""Which Beam DirectRunner mode to default to on this machine: measured, not guessed.

Runs the whole pipeline (cache off) on a data set once per running mode and
prints the per-component wall time from ML Metadata.

    .venv/bin/python bench/direct_runner.py [--data data/shuttle.csv.gz --label target]
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

from pipeline.outcome import LatestRun

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = {
    "in_memory, 1 worker": ["beam.direct_running_mode=in_memory"],
    "multi_processing, 2 workers": [
        "beam.direct_running_mode=multi_processing",
        "beam.direct_num_workers=2",
    ],
}
BEAM_COMPONENTS = ("CsvExampleGen", "StatisticsGen", "Transform", "ClassAwareEvaluator")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(REPO, "data", "shuttle.csv.gz"))
    parser.add_argument("--label", default="target")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "direct_runner"))
    args = parser.parse_args()
    rows = []
    for mode, overrides in MODES.items():
        output = os.path.join(args.workdir, mode.split(",")[0])
        shutil.rmtree(output, ignore_errors=True)
        sets = [a for o in ["pipeline.enable_cache=false", *overrides] for a in ("--set", o)]
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                os.path.join(REPO, "pipeline_runner.py"),
                "run",
                "--data",
                args.data,
                "--label",
                args.label,
                "--output",
                output,
                *sets,
            ],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        total = time.monotonic() - started
        seconds = LatestRun(os.path.join(output, "metadata.sqlite")).seconds()
        rows.append((mode, total, [seconds.get(c, float("nan")) for c in BEAM_COMPONENTS]))
    print("| mode | end to end s | " + " | ".join(f"{c} s" for c in BEAM_COMPONENTS) + " |")
    print("|---|---|" + "---|" * len(BEAM_COMPONENTS))
    for mode, total, seconds in rows:
        print(f"| {mode} | {total:.0f} | " + " | ".join(f"{s:.1f}" for s in seconds) + " |")


if __name__ == "__main__":
    main()
