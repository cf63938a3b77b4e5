"""Imbalance benchmark: weighting strategies, losses and tuning vs a balanced GBDT.

For each data set, a fixed, seeded, stratified 80/20 split: the pipeline trains
on the 80 % (its own hash split inside it is for early stopping and the
Evaluator), and the pushed model is scored on the untouched 20 % through its
serving signature. HistGradientBoostingClassifier(class_weight='balanced') is
trained and scored on the same split. Results go to bench/results/ and to the
imbalance section of BENCHMARKS.md.

    .venv/bin/python bench/imbalance.py [--datasets shuttle,satimage,fars] [--variants 'a;b']

Results are merged into bench/results/imbalance.json, so one data set or
variant can be measured again alone; the Markdown tables print at the end.
"""

import argparse
import os
import subprocess
import time

import pandas as pd
from common import (
    LABELS,
    REPO,
    SEED,
    class_names,
    load_json,
    pipeline_command,
    save_json,
    score_pushed_model,
    scores,
    split,
)
from sklearn.ensemble import HistGradientBoostingClassifier

DATASETS = {name: LABELS[name] for name in ("shuttle", "satimage", "fars")}
VARIANTS = {
    "unweighted": ["training.class_weights=none"],
    "balanced": ["training.class_weights=balanced"],
    "effective_number (default)": [],
    "focal (balanced alpha)": ["training.loss=focal", "training.class_weights=balanced"],
    "logit_adjusted": ["training.loss=logit_adjusted", "training.class_weights=none"],
    "post-hoc logit adjustment": [
        "training.class_weights=none",
        "training.posthoc_logit_adjustment_tau=1.0",
    ],
    "tuned (default weights)": ["tuning.enabled=true"],
}
RESULTS = os.path.join(REPO, "bench", "results", "imbalance.json")


def gbdt_baseline(train_path: str, test: pd.DataFrame, label: str, classes: list[str]) -> dict:
    train = pd.read_csv(train_path)
    started = time.monotonic()
    model = HistGradientBoostingClassifier(class_weight="balanced", random_state=SEED)
    model.fit(train.drop(columns=[label]), train[label].astype(str))
    predicted = model.predict(test.drop(columns=[label]))
    return {
        **scores(test[label].astype(str), predicted, classes),
        "seconds": time.monotonic() - started,
    }


def run_variant(train_path: str, label: str, output: str, overrides: list[str]) -> float:
    # Variants share one output directory (and its cache), so the no-regression
    # bound against the previous variant's model is switched off.
    overrides = ["evaluation.max_macro_f1_drop=1.0", *overrides]
    command = pipeline_command(train_path, label, output, overrides)
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return time.monotonic() - started


def markdown(results: dict) -> str:
    lines = []
    for name, rows in results.items():
        classes = list(next(iter(rows.values()))["recall"])
        lines += [
            f"### {name}",
            "",
            "| variant | macro-F1 | balanced acc. | accuracy | recall per class ("
            + ", ".join(classes)
            + ") | run s |",
            "|---|---|---|---|---|---|",
        ]
        for variant, row in rows.items():
            recall = " ".join(f"{row['recall'][c]:.2f}" for c in classes)
            lines.append(
                f"| {variant} | {row['macro_f1']:.4f} | {row['balanced_accuracy']:.4f} | "
                f"{row['accuracy']:.4f} | {recall} | {row['seconds']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--variants", default=";".join(VARIANTS), help="';'-separated")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench"))
    args = parser.parse_args()
    results = load_json(RESULTS)
    for name in args.datasets.split(","):
        label = DATASETS[name]
        train_path, test = split(name, args.workdir)
        classes = class_names(test[label])
        rows = results.setdefault(name, {})
        rows["HistGradientBoosting (balanced)"] = gbdt_baseline(train_path, test, label, classes)
        output = os.path.join(args.workdir, name, "pipeline")
        for variant in args.variants.split(";"):
            seconds = run_variant(train_path, label, output, VARIANTS[variant])
            rows[variant] = {**score_pushed_model(output, test, label, classes), "seconds": seconds}
            print(f"{name:9} {variant:28} macro-F1 {rows[variant]['macro_f1']:.4f}", flush=True)
            save_json(RESULTS, results)  # after every variant: a stopped run keeps them
    print(markdown(results))


if __name__ == "__main__":
    main()
