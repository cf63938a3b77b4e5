"""The MLP trained by two worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy, chosen
from TF_CONFIG) against one process, on a real shuttle sample through the real Transform."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.metrics import balanced_accuracy_score

from components.modules import assets
from tests.components.modules import transformed_data as td
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

SHUTTLE_SPEC = {
    **{f"A{i}": tf.io.FixedLenFeature([1], tf.float32) for i in range(1, 10)},
    td.LABEL: tf.io.FixedLenFeature([1], tf.int64),
}


@pytest.fixture(scope="module")
def shuttle(shuttle_sample, tmp_path_factory):
    frame = pd.read_csv(shuttle_sample)
    root = str(tmp_path_factory.mktemp("shuttle_transformed"))
    return td.build(root, frame=frame, raw_feature_spec=SHUTTLE_SPEC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(data, working_dir: str, workers: int) -> list[subprocess.CompletedProcess]:
    """run_fn in `workers` processes at once (one: no TF_CONFIG); their results."""
    spec = json.dumps(
        {
            "transform_dir": data.transform_dir,
            "examples_dir": data.examples_dir,
            "schema_dir": data.schema_dir,
            "working_dir": working_dir,
            "config": td.custom_config(training={"model": "mlp", "batch_size": 64}),
        }
    )
    addresses = [f"127.0.0.1:{_free_port()}" for _ in range(workers)]
    processes = []
    for index in range(workers):
        env = {**os.environ, "PYTHONPATH": REPO}
        if workers > 1:
            cluster = {"worker": addresses}
            env["TF_CONFIG"] = json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.distributed_worker", spec],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out))
    return results


def _balanced_accuracy(data, working_dir: str) -> float:
    model = tf.saved_model.load(os.path.join(working_dir, "model", "Format-Serving"))
    examples = td.serialized_examples(data.eval, with_label=False)
    out = model.signatures["serving_default"](examples=tf.constant(examples))
    classes = np.array([c.decode() for c in out["classes"].numpy()[0]])
    predicted = classes[np.argmax(out["scores"].numpy(), axis=1)]
    return balanced_accuracy_score(data.eval[td.LABEL].astype(str), predicted)


def test_two_workers_train_as_well_as_one_process_and_export_one_model(shuttle, tmp_path):
    single, replicated = str(tmp_path / "single"), str(tmp_path / "two_workers")
    (alone,) = _train(shuttle, single, workers=1)
    assert alone.returncode == 0, alone.stdout[-3000:]
    chief, worker = _train(shuttle, replicated, workers=2)
    assert chief.returncode == 0, chief.stdout[-3000:]
    assert worker.returncode == 0, worker.stdout[-3000:]
    summary = assets.read_training_summary(os.path.join(replicated, "model"))
    assert summary["distribution"] == {"strategy": "MultiWorkerMirroredStrategy", "replicas": 2}
    assert assets.read_training_summary(os.path.join(single, "model"))["distribution"] == {
        "strategy": "default",
        "replicas": 1,
    }
    # One model, in the chief's place; the worker's scratch copy is gone.
    assert os.listdir(os.path.join(replicated, "model")) == ["Format-Serving"]
    one, two = _balanced_accuracy(shuttle, single), _balanced_accuracy(shuttle, replicated)
    print(f"balanced accuracy: one process {one:.3f}, two workers {two:.3f}")
    assert two > 0.8
    assert abs(one - two) < 0.1
