"""The Trainer on train splits larger than the memory it may use: kddcup repeated with noise.

For each size, kddcup's fixed 80 % train part is repeated `k` times, every copy
after the first with its float columns jittered by 1 % of their standard
deviation, and the pipeline runs with training.max_in_memory_mb set well below
the train split's size, so the MLP streams it from disk at every epoch.
Early stopping is held off (patience = epochs), so every size trains the same
number of epochs and the Trainer's time per epoch can be compared across sizes.
Scored on the untouched 20 % through serving_default. Prints one JSON line per size.

    .venv/bin/python bench/streaming.py --repeats 1,2,4 --memory-mb 64 --epochs 4
"""

import argparse
import json
import os

import numpy as np
import pandas as pd
from common import (
    DATA_DIR,
    LABELS,
    REPO,
    class_names,
    measure,
    pipeline_command,
    pushed_model,
    score_pushed_model,
    split,
)

from components.modules import assets

DATASET = "kddcup"


def repeated(train: pd.DataFrame, label: str, times: int, seed: int = 0) -> pd.DataFrame:
    """`times` copies of the rows; each copy after the first with jittered float columns."""
    rng = np.random.default_rng(seed)
    floats = [c for c in train.columns if c != label and train[c].dtype == np.float64]
    copies = [train]
    for _ in range(times - 1):
        copy = train.copy()
        noise = rng.normal(0.0, 0.01, size=(len(copy), len(floats))) * train[floats].std().values
        copy[floats] = copy[floats].values + noise
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", default="1,2,4", help="train-part copies, one run each")
    parser.add_argument("--memory-mb", type=float, default=64.0, help="training.max_in_memory_mb")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--set", action="append", default=[], help="config override, repeatable")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "streaming"))
    args = parser.parse_args()
    label = LABELS[DATASET]
    train_path, test = split(DATASET, os.path.join(args.workdir, "data"), DATA_DIR)
    train = pd.read_csv(train_path)
    for times in [int(k) for k in args.repeats.split(",")]:
        data = os.path.join(args.workdir, "data", f"train-x{times}.csv.gz")
        if not os.path.exists(data):
            repeated(train, label, times).to_csv(data, index=False)
        output = os.path.join(args.workdir, "runs", f"x{times}")
        os.makedirs(output, exist_ok=True)
        overrides = [
            "training.model=mlp",
            f"training.max_in_memory_mb={args.memory_mb}",
            f"training.epochs={args.epochs}",
            f"training.early_stopping_patience={args.epochs}",
            *args.set,
        ]
        run = measure(pipeline_command(data, label, output, overrides), output + ".log")
        if run.returncode:
            print(json.dumps({"repeats": times, "error": run.failure()}), flush=True)
            continue
        summary = assets.read_exported_json(pushed_model(output), assets.TRAINING_SUMMARY_FILE)
        mlp = summary["families"]["mlp"]
        rows = summary["fit_examples"] + summary["validation_examples"]
        record = {
            "repeats": times,
            "train_rows": rows,
            "train_split_mb": round(summary["memory"]["train_split_mb"], 1),
            "max_in_memory_mb": args.memory_mb,
            "streamed": summary["memory"]["streamed"],
            "trainer_peak_rss_mb": summary["memory"]["peak_rss_mb"],
            "mlp_seconds": mlp["seconds"],
            "epochs": mlp["epochs_trained"],
            "seconds_per_epoch_per_million_rows": round(
                mlp["seconds"] / mlp["epochs_trained"] / rows * 1e6, 1
            ),
            "run_seconds": round(run.seconds, 1),
            "run_peak_rss_mb": round(run.peak_rss_mb, 1),
            **score_pushed_model(output, test, label, class_names(test[label])),
        }
        print(json.dumps(record), flush=True)
        with open(os.path.join(args.workdir, "results.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
