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
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score
from sklearn.model_selection import train_test_split
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.utils import io_utils

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = {"shuttle": "target", "satimage": "class", "fars": "target"}
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
SEED = 0


def split(name: str, workdir: str) -> tuple[str, pd.DataFrame]:
    """Writes the stratified train part; returns its path and the test frame."""
    label = DATASETS[name]
    frame = pd.read_csv(os.path.join(REPO, "data", f"{name}.csv.gz"))
    train, test = train_test_split(frame, test_size=0.2, random_state=SEED, stratify=frame[label])
    path = os.path.join(workdir, name, "train.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    train.to_csv(path, index=False)
    return path, test


def scores(y_true, y_pred, classes) -> dict:
    recall = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    return {
        "macro_f1": f1_score(y_true, y_pred, average="macro"),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "accuracy": accuracy_score(y_true, y_pred),
        "recall": dict(zip(classes, recall.round(4).tolist(), strict=True)),
    }


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


def to_examples(frame: pd.DataFrame, schema: schema_pb2.Schema, label: str) -> list[bytes]:
    """tf.Examples typed like ExampleGen's (from the run's schema), without the label."""
    kinds = {f.name: f.type for f in schema.feature if f.name != label}
    examples = []
    for row in frame.to_dict("records"):
        example = tf.train.Example()
        for name, kind in kinds.items():
            value = row[name]
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            feature = example.features.feature[name]
            if kind == schema_pb2.INT:
                feature.int64_list.value.append(int(value))
            elif kind == schema_pb2.FLOAT:
                feature.float_list.value.append(float(value))
            else:
                feature.bytes_list.value.append(str(value).encode())
        examples.append(example.SerializeToString())
    return examples


def score_pushed_model(output: str, test: pd.DataFrame, label: str, classes: list[str]) -> dict:
    version = sorted(glob.glob(os.path.join(output, "serving", "*")))[-1]
    schema_file = max(
        glob.glob(os.path.join(output, "pipeline", "*SchemaGen", "schema", "*", "schema.pbtxt")),
        key=os.path.getmtime,
    )
    schema = io_utils.parse_pbtxt_file(schema_file, schema_pb2.Schema())
    serve = tf.saved_model.load(version).signatures["serving_default"]
    examples = to_examples(test, schema, label)
    predicted = []
    for start in range(0, len(examples), 4096):
        out = serve(examples=tf.constant(examples[start : start + 4096]))
        names = out["classes"].numpy()[0].astype(str)
        predicted.extend(names[out["scores"].numpy().argmax(axis=1)])
    return scores(test[label].astype(str), predicted, classes)


def run_variant(train_path: str, label: str, output: str, overrides: list[str]) -> float:
    # Variants share one output directory (and its cache), so the no-regression
    # bound against the previous variant's model is switched off.
    overrides = ["evaluation.max_macro_f1_drop=1.0", *overrides]
    args = [arg for override in overrides for arg in ("--set", override)]
    command = [
        sys.executable,
        os.path.join(REPO, "pipeline_runner.py"),
        "run",
        "--data",
        train_path,
        "--label",
        label,
        "--output",
        output,
        *args,
    ]
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
            f"### {name} (label `{DATASETS[name]}`, test split: {rows['_test_size']} rows)"
            if False
            else f"### {name}",
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
    results = _load()
    for name in args.datasets.split(","):
        label = DATASETS[name]
        train_path, test = split(name, args.workdir)
        classes = sorted(test[label].astype(str).unique(), key=lambda c: (len(c), c))
        rows = results.setdefault(name, {})
        rows["HistGradientBoosting (balanced)"] = gbdt_baseline(train_path, test, label, classes)
        output = os.path.join(args.workdir, name, "pipeline")
        for variant in args.variants.split(";"):
            seconds = run_variant(train_path, label, output, VARIANTS[variant])
            rows[variant] = {**score_pushed_model(output, test, label, classes), "seconds": seconds}
            print(f"{name:9} {variant:28} macro-F1 {rows[variant]['macro_f1']:.4f}", flush=True)
            _save(results)
    print(markdown(results))


def _load() -> dict:
    """Earlier results, so that one data set or variant can be measured again alone."""
    if not os.path.exists(RESULTS):
        return {}
    with open(RESULTS) as f:
        return json.load(f)


def _save(results: dict) -> None:
    """Writes after every variant, so a long run that stops keeps what it measured."""
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
