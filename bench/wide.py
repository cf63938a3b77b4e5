"""Wide data: does the pipeline's cost stay flat in the number of columns?

Writes a seeded synthetic CSV (default 3,000 rows, 2,000 numeric columns; five
imbalanced classes cut from a noisy sum of the first five columns, the rest
noise), runs the whole pipeline on it (cache off) and prints the end-to-end
time, the peak memory and each component's time. Real wide data sets are not
bundled; what this measures is the plumbing, not the model's quality.

    .venv/bin/python bench/wide.py [--rows 3000 --columns 2000]
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import pandas as pd
from common import REPO, measure, pipeline_command, pushed_model, save_json

sys.path.insert(0, REPO)
from components.modules.assets import TRAINING_SUMMARY_FILE  # noqa: E402
from pipeline.outcome import LatestRun  # noqa: E402

CLASS_SHARES = np.array([0.40, 0.35, 0.15, 0.07, 0.03])


def wide_frame(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """Gaussian columns c0..c{n-1}; the label is the quantile band of a noisy sum of five."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, columns)).astype(np.float32)
    signal = values[:, :5].sum(axis=1) + rng.normal(scale=1.0, size=rows)
    cuts = np.quantile(signal, np.cumsum(CLASS_SHARES)[:-1])
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(columns)])
    frame["label"] = np.searchsorted(cuts, signal).astype(str)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--columns", type=int, default=2000)
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "wide"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    data = os.path.join(args.workdir, "wide.csv")
    wide_frame(args.rows, args.columns).to_csv(data, index=False, float_format="%.5g")
    output = os.path.join(args.workdir, "output")
    command = pipeline_command(data, "label", output, ["pipeline.enable_cache=false"])
    measured = measure(command, os.path.join(args.workdir, "run.log"))
    if measured.returncode:
        sys.exit(f"the pipeline {measured.failure()}")
    seconds = LatestRun(os.path.join(output, "metadata.sqlite")).seconds()
    with open(os.path.join(pushed_model(output), TRAINING_SUMMARY_FILE)) as f:
        families = json.load(f)["families"]
    result = {
        "rows": args.rows,
        "columns": args.columns,
        "cpu_count": os.cpu_count(),
        "seconds": round(measured.seconds, 1),
        "peak_rss_mb": round(measured.peak_rss_mb),
        "components": seconds,
        "families_seconds": {name: report["seconds"] for name, report in families.items()},
    }
    save_json(os.path.join(REPO, "bench", "results", "wide.json"), result)
    print(
        f"{args.rows} rows x {args.columns} columns: {measured.seconds:.0f} s end to end, "
        f"peak RSS {measured.peak_rss_mb:.0f} MB; fitting {result['families_seconds']} s"
    )
    for component, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {component:28} {value:7.1f} s")


if __name__ == "__main__":
    main()
