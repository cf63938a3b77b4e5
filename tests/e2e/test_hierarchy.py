"""A kddcup run with its attack categories as superclasses: both levels served, gated."""

import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from components.modules.errors import ExitCode
from pipeline.outcome import read_evaluation
from tests.conftest import DATA, stratified_sample
from tests.e2e.conftest import (
    FAST,
    eval_examples,
    latest_artifact_dir,
    pushed_versions,
    run_cli,
    run_gate,
)

pytestmark = pytest.mark.e2e
HIERARCHY = os.path.join(DATA, "kddcup_hierarchy.csv")
CATEGORIES = {"normal", "dos", "probe", "r2l", "u2r"}


@pytest.fixture(scope="module")
def kddcup_sample(tmp_path_factory) -> str:
    """Up to 40 real rows of each kddcup class with at least 30 (16 classes, all 5 categories)."""
    frame = pd.read_csv(os.path.join(DATA, "kddcup.csv.gz"))
    sizes = frame["target"].value_counts()
    frame = frame[frame["target"].isin(sizes[sizes >= 30].index)]
    path = tmp_path_factory.mktemp("kddcup") / "kddcup_sample.csv"
    stratified_sample(frame, "target", 40).to_csv(path, index=False)
    return str(path)


def _run(sample: str, output: str, *overrides: str):
    sets = [arg for override in overrides for arg in ("--set", override)]
    return run_cli(
        "--data", sample, "--label", "target", "--output", output, *FAST,
        "--set", f"data.hierarchy={HIERARCHY}", "--set", "training.model=mlp", *sets,
    )  # fmt: skip


def test_a_hierarchy_run_serves_both_levels_and_gates_on_superclasses(kddcup_sample, tmp_path):
    output = str(tmp_path / "out")
    result = _run(kddcup_sample, output)
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout

    (pushed,) = pushed_versions(output)
    model = tf.saved_model.load(pushed)
    examples, labels = eval_examples(output, "target")
    served = model.signatures["serving_default"](examples=tf.constant(examples))
    classes = served["classes"].numpy()[0].astype(str)
    superclasses = served["superclasses"].numpy()[0].astype(str)
    assert set(superclasses) == CATEGORIES
    mapping = pd.read_csv(HIERARCHY, dtype=str).set_index("class")["category"]
    scores, superclass_scores = served["scores"].numpy(), served["superclass_scores"].numpy()
    for k, superclass in enumerate(superclasses):
        members = [i for i, c in enumerate(classes) if mapping[c] == superclass]
        np.testing.assert_allclose(
            superclass_scores[:, k], scores[:, members].sum(axis=1), rtol=1e-5, atol=1e-7
        )

    evaluation = read_evaluation(latest_artifact_dir(output, "ClassAwareEvaluator", "evaluation"))
    assert set(evaluation.superclass_recall) == CATEGORIES
    predicted = classes[scores.argmax(axis=1)]
    truth, guess = mapping[labels].to_numpy(), mapping[predicted].to_numpy()
    assert evaluation.metrics["superclass_accuracy"] == pytest.approx((truth == guess).mean())
    wrong = np.asarray(labels) != predicted
    assert evaluation.metrics["cross_superclass_errors"] == pytest.approx(
        (truth != guess)[wrong].mean()
    )

    gated = _run(kddcup_sample, output, "evaluation.min_superclass_recall=1.0")
    assert gated.returncode == ExitCode.METRIC_GATE_FAILED, gated.stderr + gated.stdout
    assert pushed_versions(output) == [pushed]
    gate = run_gate(output)
    rows = [line.split() for line in gate.stdout.splitlines() if line.startswith("metric ")]
    failing = {row[2] for row in rows if row[1] == "superclass_recall"}
    below = {name for name, recall in evaluation.superclass_recall.items() if recall < 1.0}
    assert below and failing == below
    summary = open(os.path.join(output, "gate", "summary.md"), encoding="utf-8").read()
    assert "superclass\\_recall" in summary  # Markdown-escaped
