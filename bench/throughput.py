"""The Trainer's MLP throughput against a plain Keras script on the same network.

On each data set's fixed 80 % train part, in alternation:
- this pipeline's `run` with training.model=mlp and no int column embedded per
  value (training.integer_categories_max=0), so the network is the plain one:
  z-scores -> 64 -> 32 -> classes, dropout 0.1, Adam, batch 256. Its
  training.json gives the rows fitted and every epoch's seconds;
- the same network in plain Keras (bench/plain_script.py's), fitted in this
  process on numpy arrays of as many rows, with a validation set of the
  Trainer's size scored every epoch.

Both run a fixed number of epochs (no early stopping). Throughput is the rows
fitted over the median epoch's seconds, leaving out the first epoch (which
traces and compiles the steps); an epoch's seconds include its validation pass.

    .venv/bin/python bench/throughput.py [--datasets shuttle,satimage] [--pairs 3]
"""

import argparse
import glob
import json
import os
import statistics

import keras
import numpy as np
import pandas as pd
from common import LABELS, REPO, pipeline_command, split
from compare import run_tfx
from plain_script import plain_network
from sklearn.model_selection import train_test_split

from components.modules.training import EpochProgress

WORKDIR = os.path.join(REPO, "output", "bench", "throughput")
EPOCHS = 12


def rows_per_second(rows: int, epoch_seconds: list[float]) -> float:
    return rows / statistics.median(epoch_seconds[1:])


def pipeline_throughput(train_path: str, label: str, output: str, seed: int) -> dict:
    overrides = [
        "training.model=mlp",
        "training.integer_categories_max=0",
        f"training.epochs={EPOCHS}",
        f"training.early_stopping_patience={EPOCHS}",
        f"training.seed={seed}",
    ]
    row, _ = run_tfx(pipeline_command(train_path, label, output, overrides), output)
    paths = glob.glob(
        os.path.join(
            output, "pipeline", "Trainer", "model", "*", "Format-Serving", "**", "training.json"
        ),
        recursive=True,
    )
    if not paths:  # a model the gate refuses still counts: only the training is timed here
        raise SystemExit(f"the Trainer wrote no training.json: {row.get('error')}")
    with open(paths[0]) as f:
        summary = json.load(f)
    mlp = summary["families"]["mlp"]
    return {
        "rows": summary["fit_examples"],
        "validation_rows": summary["validation_examples"],
        "epoch_seconds": mlp["epoch_seconds"],
        "rows_per_second": rows_per_second(summary["fit_examples"], mlp["epoch_seconds"]),
    }


def plain_throughput(train: pd.DataFrame, label: str, rows: int, validation: int, seed: int):
    """The plain script's network on `rows` stratified train rows, `validation` rows scored."""
    keras.utils.set_random_seed(seed)
    features = train.drop(columns=[label]).select_dtypes("number").to_numpy("float32")
    classes, y = np.unique(train[label].astype(str), return_inverse=True)
    x_fit, x_val, y_fit, y_val = train_test_split(
        features, y, train_size=rows, test_size=validation, random_state=seed, stratify=y
    )
    model = plain_network(x_fit, len(classes), metrics=("accuracy",))
    times = EpochProgress()  # the Trainer's own epoch timer, so both sides time alike
    model.fit(
        x_fit,
        y_fit,
        batch_size=256,
        epochs=EPOCHS,
        validation_data=(x_val, y_val),
        callbacks=[times],
        verbose=0,
    )
    return {
        "rows": rows,
        "epoch_seconds": times.epoch_seconds,
        "rows_per_second": rows_per_second(rows, times.epoch_seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="shuttle,satimage")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--workdir", default=WORKDIR)
    args = parser.parse_args()
    results = os.path.join(args.workdir, "results.jsonl")
    for name in args.datasets.split(","):
        label = LABELS[name]
        train_path, _ = split(name, os.path.join(args.workdir, "data"))
        train = pd.read_csv(train_path)
        for pair in range(1, args.pairs + 1):
            output = os.path.join(args.workdir, "runs", f"{name}-{pair}")
            ours = pipeline_throughput(train_path, label, output, seed=pair)
            plain = plain_throughput(train, label, ours["rows"], ours["validation_rows"], pair)
            for system, row in (("this pipeline's Trainer", ours), ("plain Keras", plain)):
                record = {"dataset": name, "pair": pair, "system": system, **row}
                print(json.dumps(record), flush=True)
                with open(results, "a") as f:
                    f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
