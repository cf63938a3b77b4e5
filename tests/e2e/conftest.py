"""Helpers for the whole-pipeline tests: the real CLI, and what a run left behind."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.conftest import REPO

FAST = ["--set", "training.epochs=10"]


def run_cli(*args: str, command: str = "run") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "pipeline_runner.py"), command, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )


def pushed_versions(output: str) -> list[str]:
    return sorted(glob.glob(os.path.join(output, "serving", "*")))


def eval_examples(output: str, label: str) -> tuple[list[bytes], list[str]]:
    """Serialized eval-split examples without the label, and their labels as text."""
    files = glob.glob(
        os.path.join(output, "pipeline", "CsvExampleGen", "examples", "*", "Split-eval", "*")
    )
    examples, labels = [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        value = example.features.feature[label]
        labels.append(
            str(value.int64_list.value[0])
            if value.int64_list.value
            else value.bytes_list.value[0].decode()
        )
        del example.features.feature[label]
        examples.append(example.SerializeToString())
    return examples, labels


def assert_serves_class_names(output: str, label: str, expected_classes: set[str]) -> None:
    """The pushed model takes label-free tf.Examples and returns scores and class names."""
    version = pushed_versions(output)[-1]
    model = tf.saved_model.load(version)
    examples, labels = eval_examples(output, label)
    result = model.signatures["serving_default"](examples=tf.constant(examples))
    scores = result["scores"].numpy()
    classes = np.char.decode(result["classes"].numpy().astype(bytes), "utf-8")
    k = len(expected_classes)
    assert scores.shape == (len(examples), k) and scores.dtype == "float32"
    assert classes.shape == (len(examples), k)
    assert set(classes[0]) == expected_classes
    assert (classes == classes[0]).all()
    assert abs(scores.sum(axis=1) - 1).max() < 1e-4
    predicted = classes[0][scores.argmax(axis=1)]
    accuracy = (predicted == labels).mean()
    assert accuracy > 1.5 / k, f"model no better than chance: {accuracy:.3f}"
    with open(os.path.join(version, "assets.extra", "class_names.json")) as f:
        assert json.load(f) == list(classes[0])


def assert_metrics_written(output: str) -> None:
    (evaluation,) = glob.glob(
        os.path.join(output, "pipeline", "ClassAwareEvaluator", "evaluation", "*")
    )
    files = os.listdir(evaluation)
    assert any(name.startswith("metrics") for name in files)
    assert any(name.startswith("validations") for name in files)
    assert any(name.startswith("plots") for name in files)


def run_gate(output: str) -> subprocess.CompletedProcess:
    return run_cli("--output", output, command="gate")


def latest_artifact_dir(output: str, component: str, name: str) -> str:
    return max(
        glob.glob(os.path.join(output, "pipeline", component, name, "*")), key=os.path.getmtime
    )
