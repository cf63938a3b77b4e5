"""Where the seconds of a default run go: this pipeline and the stock template, per component.

For each data set, the fixed, seeded, stratified 80 % train part of
bench/common.py. In alternation, --pairs pairs of runs, each its own process
into a fresh output directory (no cache, no earlier model):
(a) this pipeline's default `pipeline_runner.py run`;
(b) the stock TFX template (bench/stock_template.py) with its fastest local
    Beam options, `--beam-mode in_memory` (DirectRunner in memory, 1 worker).

For every run: wall seconds and the peak RSS of its process tree
(bench/common.py's measure), and the seconds of each component from
LocalDagRunner's "Component X is running." to its "Component X is finished."
log records (this pipeline: OUTPUT/logs/run-*.log; the stock template: its
stdout and stderr). "start-up" is from the process's start to the first
component's start (imports, input checks, pipeline construction, ML Metadata
set-up), "between components" the launcher's time between one component's
end and the next one's start, "after" from the last component's end to the
process's exit. This pipeline's Trainer is split into the model fit's own
seconds (training.json: families.*.seconds and their refit seconds) and the rest.

    .venv/bin/python bench/overhead.py [--datasets shuttle,satimage] [--pairs 3]
    .venv/bin/python bench/overhead.py --data FILE.csv --label NAME --pairs 1  # a CSV as is

One JSON line per run on stdout and appended to output/bench/profile/results.jsonl;
at the end a Markdown table per data set (medians over the pairs), also in
output/bench/profile/overhead.md.
"""

import argparse
import datetime
import glob
import json
import os
import re
import shutil
import statistics
import sys
import time

from common import DATA_DIR, LABELS, REPO, measure, pipeline_command, split
from compare import SAME_STEP

from components.modules.assets import TRAINING_SUMMARY_FILE

BENCH = os.path.dirname(os.path.abspath(__file__))
WORKDIR = os.path.join(REPO, "output", "bench", "profile")
THIS, STOCK = "this pipeline", "stock template"
# The line format of both pipelines' logs (pipeline/runners.py, bench/stock_template.py).
COMPONENT_LOG = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ [\w.]+: Component (\S+) is (running|finished)\.$"
)
FIT, REST = "Trainer: model fit", "Trainer: rest"
# A stock template component -> the one on whose row it goes.
SAME_STEPS = {**SAME_STEP, "latest_blessed_model_resolver": "LatestBlessedModelResolver"}


def component_times(log: str) -> list[tuple[str, float, float]]:
    """(component, start, end) in epoch seconds, in run order, from a log file."""
    started, times = {}, []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = COMPONENT_LOG.match(line.rstrip("\n"))
            if not match:
                continue
            stamp, name, event = match.groups()
            # asctime is local time, as time.time() below.
            at = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if event == "running":
                started[name] = at
            elif name in started:
                times.append((name, started.pop(name), at))
    return times


def fit_seconds(output: str) -> float | None:
    """The model fit's own seconds, from the Trainer's training.json (every family, refit too)."""
    found = glob.glob(
        os.path.join(output, "pipeline", "Trainer", "model", "*", "*", TRAINING_SUMMARY_FILE)
    )
    if not found:
        return None
    with open(found[0]) as f:
        families = json.load(f)["families"].values()
    return sum(
        family["seconds"] + family.get("refit", {}).get("seconds", 0.0) for family in families
    )


def timed_run(system: str, command: list[str], output: str, log_of) -> dict:
    """Runs one pipeline process into a fresh `output`; `log_of(output, console_log)` names
    the file with its component log records."""
    shutil.rmtree(output, ignore_errors=True)
    os.makedirs(output)
    console_log = os.path.join(output, "console.log")
    started = time.time()
    measured = measure(command, console_log)
    ended = started + measured.seconds
    times = component_times(log_of(output, console_log))
    components = {name: round(end - start, 2) for name, start, end in times}
    row = {
        "system": system,
        "seconds": round(measured.seconds, 2),
        "peak_rss_mb": round(measured.peak_rss_mb),
        "components": components,
    }
    if times:
        row["start-up"] = round(times[0][1] - started, 2)
        row["between components"] = round(
            times[-1][2] - times[0][1] - sum(end - start for _, start, end in times), 2
        )
        row["after"] = round(ended - times[-1][2], 2)
    if measured.returncode != 0:
        row["error"] = measured.failure()
    return row


def this_pipeline(train_csv: str, label: str, output: str) -> dict:
    def run_log(output: str, console_log: str) -> str:
        logs = sorted(glob.glob(os.path.join(output, "logs", "run-*.log")))
        return logs[-1] if logs else console_log

    row = timed_run(THIS, pipeline_command(train_csv, label, output), output, run_log)
    fit = fit_seconds(output)
    if fit is not None and "Trainer" in row["components"]:
        row[FIT] = fit
        row[REST] = round(row["components"]["Trainer"] - fit, 2)
    return row


def stock_template(train_csv: str, label: str, output: str) -> dict:
    command = [
        sys.executable,
        os.path.join(BENCH, "stock_template.py"),
        "--data",
        os.path.dirname(train_csv),  # the template reads a folder: the train CSV is alone in it
        "--label",
        label,
        "--output",
        output,
        "--beam-mode",
        "in_memory",
    ]
    row = timed_run(STOCK, command, output, lambda output, console_log: console_log)
    row["components"] = {SAME_STEPS.get(c, c): s for c, s in row["components"].items()}
    return row


def row_order(ours: list[str], theirs: list[str]) -> list[str]:
    """Both pipelines' components in run order; one only the stock template has goes after
    the component it follows there."""
    rows = list(ours)
    for i, name in enumerate(theirs):
        if name not in rows:
            rows.insert(rows.index(theirs[i - 1]) + 1 if i else 0, name)
    return rows


def median(runs: list[dict], value) -> float | None:
    values = [v for v in map(value, runs) if v is not None]
    return statistics.median(values) if values else None


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(name: str, runs: list[dict]) -> list[str]:
    """Medians over the pairs; the total's ratio with its min..max over the pairs."""
    ours = [r for r in runs if r["system"] == THIS]
    theirs = [r for r in runs if r["system"] == STOCK]
    order = row_order(
        list({c: 0 for r in ours for c in r["components"]}),
        list({c: 0 for r in theirs for c in r["components"]}),
    )
    lines = [
        f"### {name}",
        "",
        f"Medians over {len(ours)} pair(s) of runs; failed runs: "
        f"{sum('error' in r for r in runs)}.",
        "",
        "| step | this pipeline s | stock template (in_memory) s |",
        "|---|---|---|",
    ]

    def add(step: str, value, spec: str = ".1f") -> None:
        cells = (_cell(median(ours, value), spec), _cell(median(theirs, value), spec))
        lines.append(f"| {step} | {cells[0]} | {cells[1]} |")

    for component in order:
        stock_name = {ours: theirs for theirs, ours in SAME_STEPS.items()}.get(component)
        label = component + (f" (stock: {stock_name})" if stock_name else "")
        add(label, lambda r, c=component: r["components"].get(c))
        if component == "Trainer":
            add(f"&nbsp;&nbsp;{FIT} (training.json)", lambda r: r.get(FIT))
            add(f"&nbsp;&nbsp;{REST}", lambda r: r.get(REST))
    for step in ("start-up", "between components", "after"):
        add(f"**{step}**", lambda r, s=step: r.get(s))
    add("**total (wall)**", lambda r: r["seconds"])
    add("**peak RSS MB**", lambda r: r["peak_rss_mb"], ",.0f")
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(ours, theirs, strict=False)]
    ratio = (
        f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}..{max(ratios):.2f})"
        if ratios
        else "-"
    )
    lines += [f"| **total, this / stock** | {ratio} | |", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="shuttle,satimage", help="comma-separated")
    parser.add_argument("--data", help="instead of --datasets: one CSV file, used whole as is")
    parser.add_argument("--label", help="with --data: the label column (int classes)")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each pipeline, alternated")
    parser.add_argument("--data-dir", default=DATA_DIR, help="where NAME.csv.gz are")
    parser.add_argument("--workdir", default=WORKDIR)
    args = parser.parse_args()
    if args.data:
        if not args.label:
            parser.error("--data needs --label")
        name = os.path.splitext(os.path.basename(args.data))[0]
        train_csv = os.path.join(args.workdir, "train", name, "train.csv")
        os.makedirs(os.path.dirname(train_csv), exist_ok=True)
        shutil.copyfile(args.data, train_csv)
        datasets = {name: (train_csv, args.label)}
    else:
        train = os.path.join(args.workdir, "train")
        datasets = {
            name: (split(name, train, args.data_dir)[0], LABELS[name])
            for name in args.datasets.split(",")
        }
    results = os.path.join(args.workdir, "results.jsonl")
    lines = []
    for name, (train_csv, label) in datasets.items():
        runs = []
        for pair in range(1, args.pairs + 1):
            for system, run in ((THIS, this_pipeline), (STOCK, stock_template)):
                output = os.path.join(args.workdir, "runs", name, f"{system.split()[0]}-{pair}")
                row = {"dataset": name, "pair": pair, **run(train_csv, label, output)}
                row["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
                row["load_average"] = [round(load, 2) for load in os.getloadavg()]
                runs.append(row)
                print(json.dumps(row), flush=True)
                with open(results, "a") as f:
                    f.write(json.dumps(row) + "\n")
        lines += table(name, runs)
    markdown = "\n".join(lines)
    with open(os.path.join(args.workdir, "overhead.md"), "w") as f:
        f.write(markdown)
    print("\n" + markdown)


if __name__ == "__main__":
    main()
