"""This pipeline against the stock TFX template and one-file scripts: time, memory, quality.

For each data set, the fixed, seeded, stratified 80/20 split of bench/common.py.
In one invocation, four systems train on the 80 % part, each as its own process
timed with the peak RSS of its process tree: this pipeline with its defaults,
the stock template (bench/stock_template.py), and the one-file scripts of
bench/plain_script.py (balanced HistGradientBoosting, plain Keras MLP). Each is
scored on the untouched 20 %, the pipelines through their pushed model's
serving signature. This pipeline and the scripts train once per seed (model
seed, same split): the quality table shows mean and standard deviation, times
are means. The stock template runs once, for its times. Per-component seconds
of both pipelines come from ML Metadata (this pipeline: its first seed's run).

    .venv/bin/python bench/compare.py [--datasets shuttle,satimage,fars,kddcup,penguins]
        [--seeds 1,2,3]

Raw results are merged per data set into bench/results/compare.json, so one data
set can be measured again alone; the tables are rewritten between the
compare markers of BENCHMARKS.md. `--only-this-pipeline` runs this pipeline
alone and keeps the other systems' rows from the results file, which a change
to this project does not move.
"""

import argparse
import dataclasses
import glob
import json
import os
import shutil
import statistics
import sys
import time

import pandas as pd
from common import (
    DATA_DIR,
    LABELS,
    REPO,
    Measured,
    class_names,
    load_json,
    measure,
    pipeline_command,
    pushed_model,
    save_json,
    score_pushed_model,
    scores,
    split,
)
from stock_template import TRAIN_STEPS
from stock_template_module import TRAIN_BATCH_SIZE

from components import artifacts
from components.modules.assets import TRAINING_SUMMARY_FILE
from pipeline.outcome import LatestRun

BENCH = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(BENCH, "results", "compare.json")
BENCHMARKS = os.path.join(REPO, "BENCHMARKS.md")
START, END = "<!-- compare:start -->", "<!-- compare:end -->"
THIS, STOCK = "this pipeline", "stock TFX template"
RATE_COMPONENTS = ("CsvExampleGen", "StatisticsGen", "Transform")  # every input row
SAME_STEP = {"Evaluator": "ClassAwareEvaluator"}  # stock component -> this pipeline's


@dataclasses.dataclass
class Split:
    """One data set's fixed split, on disk for the processes and in memory for scoring."""

    label: str
    train_path: str  # alone in its folder: the stock template reads a folder
    test_path: str
    test: pd.DataFrame
    train_rows: int
    classes: list[str]

    @classmethod
    def write(cls, name: str, workdir: str, data_dir: str) -> "Split":
        label = LABELS[name]
        train_path, test = split(name, os.path.join(workdir, "train"), data_dir)
        test_path = os.path.join(workdir, "test", f"{name}.csv")
        os.makedirs(os.path.dirname(test_path), exist_ok=True)
        test.to_csv(test_path, index=False)
        train_rows = len(pd.read_csv(train_path, usecols=[label]))
        return cls(label, train_path, test_path, test, train_rows, class_names(test[label]))


def measured_row(measured: Measured) -> dict:
    row = {"seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb}
    if measured.returncode != 0:
        row["error"] = measured.failure()
    return row


def run_tfx(command: list[str], output: str) -> tuple[dict, LatestRun | None]:
    """Runs a pipeline into a fresh output directory: no cache, no earlier blessed model.

    With no earlier model the no-regression bound of this pipeline has no baseline.
    """
    shutil.rmtree(output, ignore_errors=True)
    os.makedirs(output)
    row = measured_row(measure(command, os.path.join(output, "console.log")))
    metadata = os.path.join(output, "metadata.sqlite")
    run = LatestRun(metadata) if os.path.exists(metadata) else None
    if run is not None:
        row["components"] = run.seconds()
    if "error" not in row and not glob.glob(os.path.join(output, "serving", "*")):
        row["error"] = "not pushed: the Evaluator did not bless the model"
    return row, run


def rates(row: dict, train_rows: int, training_examples: int | None) -> dict[str, float]:
    """Examples per second: input rows for the Beam steps, examples fed to fit for training."""
    seconds = row.get("components", {})
    per_second = {c: train_rows / seconds[c] for c in RATE_COMPONENTS if seconds.get(c)}
    if training_examples and seconds.get("Trainer"):
        per_second["Trainer"] = training_examples / seconds["Trainer"]
    return per_second


def train_split_rows(run: LatestRun) -> int:
    statistics = artifacts.load_statistics(run.output("StatisticsGen", "statistics"))
    return sum(dataset.num_examples for dataset in statistics["train"].datasets)


def this_pipeline(data: Split, output: str, seed: int) -> dict:
    command = pipeline_command(data.train_path, data.label, output, [f"training.seed={seed}"])
    row, run = run_tfx(command, output)
    if "error" not in row:
        row.update(score_pushed_model(output, data.test, data.label, data.classes))
        with open(os.path.join(pushed_model(output), TRAINING_SUMMARY_FILE)) as f:
            summary = json.load(f)
        row["train_split_rows"] = train_split_rows(run)
        # The Trainer fits on the train split less its validation part.
        row["fit_rows"] = summary["fit_examples"]
        row["families"] = summary["families"]
        if "mlp" in summary["families"]:
            row["epochs"] = summary["families"]["mlp"]["epochs_trained"]
            row["training_examples"] = row["fit_rows"] * row["epochs"]
    row["examples_per_second"] = rates(row, data.train_rows, row.get("training_examples"))
    return row


def stock_template(data: Split, output: str) -> dict:
    command = [
        sys.executable,
        os.path.join(BENCH, "stock_template.py"),
        "--data",
        os.path.dirname(data.train_path),
        "--label",
        data.label,
        "--output",
        output,
    ]
    row, _ = run_tfx(command, output)
    if "error" not in row:
        # serving_default returns logits; the index is the int label, as in the template.
        row.update(
            score_pushed_model(
                output,
                data.test,
                data.label,
                data.classes,
                lambda out: out["outputs"].numpy().argmax(axis=1).astype(str),
            )
        )
        row["training_examples"] = TRAIN_STEPS * TRAIN_BATCH_SIZE
    row["examples_per_second"] = rates(row, data.train_rows, row.get("training_examples"))
    return row


def script(model: str, data: Split, output: str, seed: int) -> dict:
    os.makedirs(output, exist_ok=True)
    predictions = os.path.join(output, f"{model}-{seed}.csv")
    command = [
        sys.executable,
        os.path.join(BENCH, "plain_script.py"),
        model,
        "--train",
        data.train_path,
        "--test",
        data.test_path,
        "--label",
        data.label,
        "--predictions",
        predictions,
        "--seed",
        str(seed),
    ]
    row = measured_row(measure(command, os.path.join(output, f"{model}-{seed}.log")))
    if "error" not in row:
        predicted = pd.read_csv(predictions, dtype=str)["predicted"]
        row.update(scores(data.test[data.label].astype(str), predicted, data.classes))
    return row


SCORES = ("macro_f1", "balanced_accuracy", "accuracy")


def over_seeds(runs: list[dict], seeds: list[int]) -> dict:
    """The first run's row (its times and components), with the scores over every run:
    the mean of each score and of each class's recall, their standard deviation, the
    mean wall time and the largest peak RSS. Any failed run makes the row a failure."""
    failed = [row for row in runs if "error" in row]
    if failed:
        return failed[0]
    row = dict(runs[0])
    row["seeds"] = seeds
    row["seconds"] = statistics.mean(r["seconds"] for r in runs)
    row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    for score in SCORES:
        values = [r[score] for r in runs]
        row[score] = statistics.mean(values)
        row[f"{score}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        row[f"{score}_per_seed"] = values
    row["recall"] = {c: statistics.mean(r["recall"][c] for r in runs) for c in runs[0]["recall"]}
    return row


def compare(
    name: str, workdir: str, data_dir: str, seeds: list[int], previous: dict | None = None
) -> dict:
    """Runs the four systems on one data set, one after the other; with `previous`, a
    result of an earlier run, only this pipeline runs and the other rows are kept."""
    data = Split.write(name, workdir, data_dir)
    runs = os.path.join(workdir, "runs", name)
    load_before = os.getloadavg()
    scripts = os.path.join(runs, "scripts")
    systems = {
        THIS: over_seeds(
            [this_pipeline(data, os.path.join(runs, f"this_pipeline-{s}"), s) for s in seeds],
            seeds,
        )
    }
    if previous:
        systems.update({k: v for k, v in previous["systems"].items() if k != THIS})
    else:
        systems[STOCK] = stock_template(data, os.path.join(runs, "stock_template"))
        systems["HistGradientBoosting script"] = over_seeds(
            [script("hgb", data, scripts, s) for s in seeds], seeds
        )
        systems["Keras MLP script"] = over_seeds(
            [script("keras", data, scripts, s) for s in seeds], seeds
        )
    return {
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(load, 2) for load in load_before],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "train_rows": data.train_rows,
        "test_rows": len(data.test),
        "classes": data.classes,
        "systems": systems,
        "others_measured": previous.get("others_measured", previous["measured"])
        if previous
        else time.strftime("%Y-%m-%d %H:%M"),
    }


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ratio(ours: float | None, theirs: float | None) -> str:
    """ours / theirs; "-" where the stock step is too short for a ratio to mean anything."""
    return f"{ours / theirs:.2f}x" if ours is not None and theirs and theirs >= 0.5 else "-"


def _spread(row: dict, score: str) -> str:
    """mean ± standard deviation over seeds; the value alone for a single run."""
    if f"{score}_sd" not in row:
        return f"{row[score]:.4f}"
    return f"{row[score]:.4f} ± {row[f'{score}_sd']:.4f}"


def quality_table(result: dict) -> list[str]:
    classes = result["classes"]
    stock = result["systems"][STOCK]
    lines = [
        "| system | seeds | wall s | vs stock template | peak RSS MB | macro-F1 | balanced acc. "
        f"| accuracy | recall per class ({', '.join(classes)}) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for system, row in result["systems"].items():
        failed = "error" in stock or "error" in row  # time to the failure, not a run
        ratio = "-" if failed else _ratio(row["seconds"], stock["seconds"])
        if "error" in row:
            quality = f"{row['error'].replace('|', '/')} | - | - | -"
        else:
            recall = " ".join(f"{row['recall'][c]:.2f}" for c in classes)
            quality = " | ".join([*(_spread(row, score) for score in SCORES), recall])
        seeds = len(row.get("seeds", [0]))
        lines.append(
            f"| {system} | {seeds} | {row['seconds']:.0f} | {ratio} | {row['peak_rss_mb']:,.0f} "
            f"| {quality} |"
        )
    return lines


def components_table(result: dict) -> list[str]:
    """Both pipelines' components side by side, the stock Evaluator on ClassAwareEvaluator's row.

    Totals get no ratio when a pipeline failed: its time is then time to the failure.
    """
    this, stock = result["systems"][THIS], result["systems"][STOCK]
    ours_by_step = this.get("components", {})
    theirs_by_step = {SAME_STEP.get(c, c): s for c, s in stock.get("components", {}).items()}
    their_rates = {SAME_STEP.get(c, c): r for c, r in stock["examples_per_second"].items()}
    steps = [*ours_by_step, *(c for c in theirs_by_step if c not in ours_by_step)]
    lines = [
        "| component | this pipeline s | examples/s | stock template s | examples/s "
        "| this / stock |",
        "|---|---|---|---|---|---|",
    ]
    for step in steps:
        ours, theirs = ours_by_step.get(step), theirs_by_step.get(step)
        name = step + (" (stock: Evaluator)" if step == SAME_STEP["Evaluator"] else "")
        our_rate, their_rate = this["examples_per_second"].get(step), their_rates.get(step)
        lines.append(
            f"| {name} | {_cell(ours, '.1f')} | {_cell(our_rate, ',.0f')} | "
            f"{_cell(theirs, '.1f')} | {_cell(their_rate, ',.0f')} | {_ratio(ours, theirs)} |"
        )
    failed = "error" in stock or "error" in this
    ours, theirs = sum(ours_by_step.values()), sum(theirs_by_step.values())
    totals = {
        "sum of components": (ours, theirs),
        "outside components (start-up, imports, orchestration)": (
            this["seconds"] - ours,
            stock["seconds"] - theirs,
        ),
        "end to end": (this["seconds"], stock["seconds"]),
    }
    for name, (ours, theirs) in totals.items():
        ratio = "-" if failed else _ratio(ours, theirs)
        lines.append(f"| **{name}** | {ours:.1f} | | {theirs:.1f} | | {ratio} |")
    return lines


FAMILY_NAMES = {"mlp": "MLP", "gbt": "boosted trees"}


def training_note(this: dict) -> str:
    """What the Trainer did in the first seed's run: each family's fit time, and what
    its examples/s count (examples fed to the MLP's `fit`)."""
    stock = f"stock template {TRAIN_STEPS} steps x {TRAIN_BATCH_SIZE} examples"
    if "error" in this:
        return f"Examples fed to training: {stock}."
    families = this.get("families", {})
    times = ", ".join(
        f"{FAMILY_NAMES[name]} {report['seconds']:.0f} s" for name, report in families.items()
    )
    fitted = f"{this['fit_rows']:,} of the {this['train_split_rows']:,} rows of its train split"
    fed = f"{this['epochs']} epochs (early stopping) x {fitted}" if "epochs" in this else fitted
    return (
        f"Trainer time per model family (first seed): {times}. Examples fed to training: this "
        f"pipeline {fed} (the rest is its validation part), {stock}."
    )


def _others_note(result: dict) -> str:
    others = result.get("others_measured", result["measured"])
    return "" if others == result["measured"] else f"; the other systems: {others}"


def markdown(results: dict) -> str:
    lines = []
    for name in (n for n in LABELS if n in results):
        result = results[name]
        lines += [
            f"### {name}",
            "",
            f"Train part {result['train_rows']:,} rows, test part {result['test_rows']:,} rows. "
            f"Measured {result['measured']} on {result['cpu_count']} cores; load average "
            f"(1, 5, 15 min) {', '.join(map(str, result['load_average_before']))} before, "
            f"{', '.join(map(str, result['load_average_after']))} after"
            f"{_others_note(result)}.",
            "",
            *quality_table(result),
            "",
            *components_table(result),
            "",
            training_note(result["systems"][THIS]),
            "",
        ]
    missing = [n for n in LABELS if n not in results]
    if missing:
        lines.append(
            f"Not measured yet: {', '.join(missing)} "
            f"(`.venv/bin/python bench/compare.py --datasets {','.join(missing)}`)."
        )
    return "\n".join(lines).strip() + "\n"


def write_markdown(path: str, results: dict) -> None:
    """Replaces what is between the compare markers; the rest of the file stays as it is."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} markers")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{before}{START}\n{markdown(results)}{END}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(LABELS), help="comma-separated")
    parser.add_argument("--data-dir", default=DATA_DIR, help="where NAME.csv.gz are")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "compare"))
    parser.add_argument("--results", default=RESULTS, help="JSON, merged per data set")
    parser.add_argument("--markdown", default=BENCHMARKS, help="file with the compare markers")
    parser.add_argument("--seeds", default="1,2,3", help="model seeds of this pipeline and scripts")
    parser.add_argument(
        "--only-this-pipeline",
        action="store_true",
        help="keep the other systems' rows from --results (they do not change with this code)",
    )
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    results = load_json(args.results)
    for name in args.datasets.split(","):
        previous = results.get(name) if args.only_this_pipeline else None
        results[name] = compare(name, args.workdir, args.data_dir, seeds, previous)
        save_json(args.results, results)  # after every data set: a stopped run keeps them
        for system, row in results[name]["systems"].items():
            quality = row.get("error") or f"macro-F1 {row['macro_f1']:.4f}"
            print(f"{name:9} {system:28} {row['seconds']:6.0f} s  {quality}", flush=True)
    write_markdown(args.markdown, results)


if __name__ == "__main__":
    main()
