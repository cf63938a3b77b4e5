"""What every benchmark shares: the fixed split, the scores and the measured process.

All benchmarks train on the same seeded, stratified 80 % of a bundled data set
and score on the untouched 20 %, so their numbers can be put side by side.
"""

import contextlib
import dataclasses
import glob
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import psutil
import tensorflow as tf
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score
from sklearn.model_selection import train_test_split
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.utils import io_utils

from pipeline.predict import to_example

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(REPO, "data")
LABELS = {
    "shuttle": "target",
    "satimage": "class",
    "fars": "target",
    "kddcup": "target",
    "penguins": "species",  # from the palmerpenguins package (CC0), a dev dependency
}
SEED = 0
ERROR_LINE = re.compile(r"^(error: |[\w.]*(Error|Exception)\b)")  # CLI errors, Python exceptions


def split(name: str, workdir: str, data_dir: str = DATA_DIR) -> tuple[str, pd.DataFrame]:
    """Writes the stratified train part; returns its path and the test frame."""
    label = LABELS[name]
    if name == "penguins":
        from palmerpenguins import load_penguins

        frame = load_penguins()
    else:
        frame = pd.read_csv(os.path.join(data_dir, f"{name}.csv.gz"))
    train, test = train_test_split(frame, test_size=0.2, random_state=SEED, stratify=frame[label])
    path = os.path.join(workdir, name, "train.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    train.to_csv(path, index=False)
    return path, test


def pipeline_command(
    data: str, label: str, output: str, overrides: Sequence[str] = ()
) -> list[str]:
    """This project's `run` command line, with `--set` overrides."""
    sets = [arg for override in overrides for arg in ("--set", override)]
    run = ["run", "--data", data, "--label", label, "--output", output, *sets]
    return [sys.executable, os.path.join(REPO, "pipeline_runner.py"), *run]


def class_names(labels: pd.Series) -> list[str]:
    """Class names as strings, in numeric order for int labels (2 before 10)."""
    return sorted(labels.astype(str).unique(), key=lambda c: (len(c), c))


def scores(y_true, y_pred, classes) -> dict:
    recall = recall_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    return {
        "macro_f1": f1_score(y_true, y_pred, average="macro"),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "accuracy": accuracy_score(y_true, y_pred),
        "recall": dict(zip(classes, recall.round(4).tolist(), strict=True)),
    }


def to_examples(frame: pd.DataFrame, schema: schema_pb2.Schema, label: str) -> list[bytes]:
    """tf.Examples typed like ExampleGen's (from the run's schema), without the label."""
    kinds = {f.name: f.type for f in schema.feature if f.name != label}
    return [to_example(row, kinds) for row in frame.to_dict("records")]


def named_classes(out: dict[str, tf.Tensor]) -> np.ndarray:
    """The top class by name, from this pipeline's `scores` and `classes` outputs."""
    names = out["classes"].numpy()[0].astype(str)
    return names[out["scores"].numpy().argmax(axis=1)]


def pushed_model(output: str) -> str:
    """The SavedModel directory last pushed under OUTPUT/serving."""
    return sorted(glob.glob(os.path.join(output, "serving", "*")))[-1]


def served_batches(output: str, test: pd.DataFrame, label: str) -> Iterator[dict[str, tf.Tensor]]:
    """serving_default's outputs of the model last pushed under OUTPUT, over the test rows
    in batches, the examples typed by the run's schema."""
    schema_file = max(
        glob.glob(os.path.join(output, "pipeline", "*SchemaGen", "schema", "*", "schema.pbtxt")),
        key=os.path.getmtime,
    )
    schema = io_utils.parse_pbtxt_file(schema_file, schema_pb2.Schema())
    serve = tf.saved_model.load(pushed_model(output)).signatures["serving_default"]
    examples = to_examples(test, schema, label)
    for start in range(0, len(examples), 4096):
        yield serve(examples=tf.constant(examples[start : start + 4096]))


def score_pushed_model(
    output: str,
    test: pd.DataFrame,
    label: str,
    classes: list[str],
    predicted_classes: Callable[[dict[str, tf.Tensor]], np.ndarray] = named_classes,
) -> dict:
    """Scores the model last pushed under OUTPUT/serving through serving_default.

    `predicted_classes` turns one batch of the signature's outputs into class names.
    """
    predicted = []
    for batch in served_batches(output, test, label):
        predicted.extend(predicted_classes(batch))
    return scores(test[label].astype(str), predicted, classes)


def load_json(path: str) -> dict:
    """Earlier results, so that one data set (or variant) can be measured again alone."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def save_json(path: str, results: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)


@dataclasses.dataclass
class Measured:
    """One finished process: wall time, peak memory of its process tree, exit code."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    log: str  # the process's stdout and stderr

    def failure(self) -> str:
        """One line on why the process failed, from the last error line of its log.

        "crashed" for exit code 1 (an uncaught exception); this pipeline's gates
        stop it with other exit codes.
        """
        with open(self.log, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        errors = [i for i, line in enumerate(lines) if ERROR_LINE.match(line)]
        last = errors[-1] if errors else len(lines) - 1
        # A message that ends in ':' goes on on the next line.
        reason = " ".join(lines[last : last + 2 if lines[last].endswith(":") else last + 1])
        reason = reason if len(reason) <= 200 else reason[:197] + "..."
        kind = "crashed" if self.returncode == 1 else f"stopped with exit code {self.returncode}"
        return f"{kind}: {reason}"


def measure(command: list[str], log: str, interval: float = 0.2) -> Measured:
    """Runs `command` and polls the summed RSS of its whole process tree.

    Beam's multi_processing workers and TFX's wheel builds are child processes
    that come and go, so the tree is walked again at every poll.
    """
    with open(log, "w", encoding="utf-8") as out:
        started = time.monotonic()
        process = psutil.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        peak = 0
        while True:
            peak = max(peak, _tree_rss(process))
            try:
                returncode = process.wait(timeout=interval)
                break
            except psutil.TimeoutExpired:
                continue
        seconds = time.monotonic() - started
    return Measured(seconds, peak / 1e6, returncode, log)


def _tree_rss(process: psutil.Process) -> int:
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += member.memory_info().rss
    return total
