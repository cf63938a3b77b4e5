"""Whole-pipeline runs of the real CLI on small real samples."""

import base64
import glob
import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft
from markdown_it import MarkdownIt
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    classification_report,
    f1_score,
    roc_auc_score,
)
from tensorflow_metadata.proto.v0 import schema_pb2

from components.modules import assets
from components.modules.errors import ExitCode
from pipeline.outcome import read_evaluation
from tests.conftest import DATA, stratified_sample
from tests.e2e.conftest import (
    FAST,
    assert_metrics_written,
    assert_serves_class_names,
    eval_examples,
    latest_artifact_dir,
    pushed_versions,
    run_cli,
    run_gate,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shuttle_run(shuttle_sample, tmp_path_factory):
    """One default run on the shuttle sample; later tests rerun on its output (cache)."""
    output = str(tmp_path_factory.mktemp("shuttle") / "out")
    result = run_cli(
        "--data",
        shuttle_sample,
        "--label",
        "target",
        "--output",
        output,
        *FAST,
        "--set",
        "evaluation.min_macro_f1=0.3",  # an achievable floor
    )
    return output, result


def rerun(shuttle_sample, output, *overrides):
    args = [arg for override in overrides for arg in ("--set", override)]
    return run_cli("--data", shuttle_sample, "--label", "target", "--output", output, *FAST, *args)


def test_shuttle_int_labels_are_pushed_with_class_names(shuttle_run):
    output, result = shuttle_run
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    for component in ("CsvExampleGen", "ClassSkew", "Transform", "Trainer", "Pusher"):
        assert component in result.stdout
    assert "macro_f1" in result.stdout and "Model blessed and pushed" in result.stdout
    assert "Class-skew warnings" in result.stdout and "min_class_count" in result.stdout
    assert_serves_class_names(output, "target", {"1", "2", "3", "4", "5", "6", "7"})
    assert_metrics_written(output)
    assert os.path.exists(os.path.join(output, "metadata.sqlite"))
    (log,) = glob.glob(os.path.join(output, "logs", "*.log"))
    with open(log) as f:  # local Beam workers need no TFX package built for them
        assert "Attempting to infer TFX Python dependency" not in f.read()


def test_predict_scores_held_out_rows_as_serving_default_does(shuttle_run, tmp_path):
    output, result = shuttle_run
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    frame = pd.read_csv(os.path.join(DATA, "shuttle.csv.gz"))
    held_out = frame.drop(stratified_sample(frame, "target", 150).index)  # rows never seen
    held_out = held_out.groupby("target").head(40).sample(frac=1, random_state=1)
    held_out.insert(0, "id", [f"row{i}" for i in held_out.index])  # the label stays: ignored
    data = tmp_path / "new.csv.gz"
    held_out.to_csv(data, index=False)
    written = tmp_path / "predictions" / "new.csv"
    args = ["--data", str(data), "--output", output, "--predictions", str(written)]
    done = run_cli(*args, "--set", "data.exclude_columns=[id]", command="predict")
    assert done.returncode == ExitCode.SUCCESS, done.stderr + done.stdout
    version = pushed_versions(output)[-1]
    assert f"Wrote {written} (model {version})" in done.stdout
    predictions = pd.read_csv(written, dtype=str).set_index("id")
    assert sorted(predictions.index) == sorted(held_out["id"])

    # The same rows through the pushed model's signature, typed from its own schema here.
    model = tf.saved_model.load(version)
    kinds = {f.name: f.type for f in assets.read_exported_schema(version).feature}
    examples = []
    for row in held_out.to_dict("records"):
        example = tf.train.Example()
        for name, kind in kinds.items():
            if name in ("target", "id"):
                continue
            feature = example.features.feature[name]
            if kind == schema_pb2.FLOAT:
                feature.float_list.value.append(row[name])
            else:
                feature.int64_list.value.append(int(row[name]))
        examples.append(example.SerializeToString())
    served = model.signatures["serving_default"](examples=tf.constant(examples))
    scores = served["scores"].numpy()
    classes = served["classes"].numpy()[0].astype(str)
    in_order = predictions.loc[held_out["id"]]
    assert list(predictions.columns) == [
        "predicted_class",
        "score",
        *(f"score_{name}" for name in classes),
    ]
    for position, name in enumerate(classes):
        np.testing.assert_allclose(
            in_order[f"score_{name}"].astype(float), scores[:, position], rtol=0, atol=1e-6
        )
    np.testing.assert_allclose(in_order["score"].astype(float), scores.max(axis=1), atol=1e-6)
    assert list(in_order["predicted_class"]) == list(classes[scores.argmax(axis=1)])
    assert (in_order["predicted_class"] == held_out["target"].astype(str).values).mean() > 0.5

    # A feature column missing: named with the fix, exit code 2, no file written.
    held_out.drop(columns=["A3"]).to_csv(data, index=False)
    missing = tmp_path / "missing" / "new.csv"
    args = ["--data", str(data), "--output", output, "--predictions", str(missing)]
    bad = run_cli(*args, "--set", "data.exclude_columns=[id]", command="predict")
    assert bad.returncode == ExitCode.BAD_INPUT, bad.stderr + bad.stdout
    assert f"error: feature column 'A3' of the model at {version} is not in the data" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not os.path.exists(missing.parent)


def test_rows_are_counted_at_every_step_and_agree(shuttle_run, shuttle_sample):
    output, result = shuttle_run
    rows = len(pd.read_csv(shuttle_sample))
    match = re.search(
        r"Rows per step: CSV (\d+) -> ExampleGen (\d+) train \+ (\d+) eval -> "
        r"StatisticsGen \2 train \+ \3 eval -> Transform \2 train \+ \3 eval -> "
        r"Evaluator \3 eval",
        result.stdout,
    )
    assert match, result.stdout
    csv_rows, train, evaluated = map(int, match.groups())
    assert csv_rows == rows == train + evaluated
    gate = run_gate(output)
    with open(os.path.join(output, "gate", "summary.md")) as f:
        assert match.group(0).removeprefix("Rows per step: ") in f.read()
    assert gate.returncode == ExitCode.SUCCESS


def test_class_counts_and_weights_come_from_the_data(shuttle_run, shuttle_sample):
    output, _ = shuttle_run
    report_dir = latest_artifact_dir(output, "ClassSkew", "report")
    with open(os.path.join(report_dir, "class_skew.json")) as f:
        report = json.load(f)
    totals = {
        name: sum(split["counts"][name] for split in report["splits"].values())
        for name in report["classes"]
    }
    expected = pd.read_csv(shuttle_sample)["target"].value_counts()
    assert totals == {str(k): v for k, v in expected.items()}
    assert os.path.exists(os.path.join(report_dir, "summary.txt"))

    first_version = pushed_versions(output)[0]  # the default run's model
    with open(os.path.join(first_version, "assets.extra", "training.json")) as f:
        training = json.load(f)
    train_counts = dict(zip(training["class_names"], training["class_counts"], strict=True))
    assert train_counts == report["splits"]["train"]["counts"]  # Transform agrees with TFDV
    # The default strategy, effective_number (Cui et al. 2019) with beta 0.999,
    # rescaled so that the weighted example count is n, then clipped at 100.
    weights = training["class_weights"]
    beta, n = 0.999, sum(train_counts.values())
    raw = {name: (1 - beta) / (1 - beta**count) for name, count in train_counts.items()}
    scale = n / sum(raw[name] * count for name, count in train_counts.items())
    for name in train_counts:
        assert weights[name] == pytest.approx(min(raw[name] * scale, 100.0), rel=1e-6)
    rarest = min(train_counts, key=train_counts.get)
    assert weights[rarest] > 1 > weights[max(train_counts, key=train_counts.get)]


def test_evaluator_metrics_equal_scikit_learn_on_the_same_examples(shuttle_run):
    """Argmax per-class precision / recall / F1 and the averages, as classification_report;
    one-vs-rest ROC-AUC and PR-AUC of the served scores, as roc_auc_score and
    average_precision_score."""
    output, _ = shuttle_run
    first_evaluation = min(
        glob.glob(os.path.join(output, "pipeline", "ClassAwareEvaluator", "evaluation", "*")),
        key=os.path.getmtime,
    )
    outcome = read_evaluation(first_evaluation)
    model = tf.saved_model.load(pushed_versions(output)[0])
    examples, labels = eval_examples(output, "target")
    result = model.signatures["serving_default"](examples=tf.constant(examples))
    classes = result["classes"].numpy()[0].astype(str)
    scores = result["scores"].numpy()
    predicted = classes[scores.argmax(axis=1)]
    report = classification_report(labels, predicted, output_dict=True, zero_division=np.nan)
    assert outcome.example_count == len(labels)
    for name in outcome.class_names:
        for metric, sklearn_name in (
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "f1-score"),
        ):
            np.testing.assert_allclose(
                outcome.class_metrics[name][metric],
                report[name][sklearn_name],
                atol=1e-6,
                err_msg=f"{metric} of class {name}",
            )
    assert outcome.metrics["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert outcome.metrics["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(labels, predicted)
    )
    assert outcome.metrics["macro_f1"] == pytest.approx(
        f1_score(labels, predicted, average="macro")
    )
    aucs = {}
    for name in outcome.class_names:
        positive = np.asarray(labels) == name
        column = scores[:, list(classes).index(name)]
        aucs[name] = roc_auc_score(positive, column)
        np.testing.assert_allclose(outcome.class_metrics[name]["roc_auc"], aucs[name], atol=1e-3)
        np.testing.assert_allclose(
            outcome.class_metrics[name]["pr_auc"],
            average_precision_score(positive, column),
            atol=1e-3,
            err_msg=f"PR-AUC of class {name}",
        )
        roc = outcome.class_curves[name]["roc_curve"]
        assert roc.shape[1] == 2 and tuple(roc[-1]) == (1.0, 1.0)
    assert outcome.metrics["macro_roc_auc"] == pytest.approx(np.mean(list(aucs.values())))


def test_metric_gate_blocks_the_push_and_gate_names_the_failing_classes(
    shuttle_run, shuttle_sample
):
    output, _ = shuttle_run
    before = pushed_versions(output)
    gated = rerun(
        shuttle_sample,
        output,
        "evaluation.min_macro_f1=1.0",
        "evaluation.min_class_recall=1.0",
        "evaluation.min_class_pr_auc=1.0",
    )
    assert gated.returncode == ExitCode.METRIC_GATE_FAILED, gated.stderr + gated.stdout
    for component in ("CsvExampleGen", "StatisticsGen", "Transform", "Trainer"):
        line = next(
            line for line in gated.stdout.splitlines() if line.strip().startswith(component)
        )
        assert "(cached)" in line, line
    assert "not pushed" in gated.stderr and "macro_f1 on overall" in gated.stderr
    assert pushed_versions(output) == before

    gate = run_gate(output)
    assert gate.returncode == ExitCode.METRIC_GATE_FAILED, gate.stderr + gate.stdout
    assert "metric gate failed" in gate.stdout
    rows = [line.split() for line in gate.stdout.splitlines() if line.startswith("metric ")]
    recall_rows = [row for row in rows if row[1] == "recall"]
    assert recall_rows, gate.stdout
    for _, _, cls, slice_name, value, *bound in recall_rows:
        assert cls in {"1", "2", "3", "4", "5", "6", "7"} and slice_name == "overall"
        assert float(value) < 1.0 and bound == [">=", "1"]
    assert any(row[1] == "macro_f1" for row in rows)
    evaluated = read_evaluation(latest_artifact_dir(output, "ClassAwareEvaluator", "evaluation"))
    below = {name for name, m in evaluated.class_metrics.items() if m["pr_auc"] < 1.0}
    assert below and {row[2] for row in rows if row[1] == "pr_auc"} == below
    junit = open(os.path.join(output, "gate", "junit.xml")).read()
    assert f'failures="{len(rows)}"' in junit and "recall" in junit
    summary = open(os.path.join(output, "gate", "summary.md")).read()
    assert summary.startswith("## ❌ Pipeline gate: metric gate failed")


def test_a_run_that_regresses_against_the_blessed_model_is_not_pushed(shuttle_run, shuttle_sample):
    output, _ = shuttle_run
    before = pushed_versions(output)
    worse = rerun(  # one round of trees that barely move from the class priors
        shuttle_sample,
        output,
        "training.gbt_max_iterations=1",
        "training.gbt_learning_rate=0.00001",
    )
    assert worse.returncode == ExitCode.METRIC_GATE_FAILED, worse.stderr + worse.stdout
    assert "macro_f1 (change)" in worse.stderr and "vs baseline" in worse.stderr
    assert pushed_versions(output) == before


def test_class_skew_gate_stops_the_run_before_training(shuttle_run, shuttle_sample):
    output, _ = shuttle_run
    before = pushed_versions(output)
    gated = rerun(  # the sample's largest/smallest class ratio is 15
        shuttle_sample,
        output,
        "class_skew.max_imbalance_ratio.threshold=10",
        "class_skew.max_imbalance_ratio.action=gate",
    )
    assert gated.returncode == ExitCode.SCHEMA_GATE_FAILED, gated.stderr + gated.stdout
    assert "class distribution failed a gate" in gated.stderr
    assert "class_skew.max_imbalance_ratio" in gated.stderr
    assert "Trainer" not in gated.stdout
    assert pushed_versions(output) == before
    gate = run_gate(output)
    assert gate.returncode == ExitCode.SCHEMA_GATE_FAILED
    assert "class_skew.max_imbalance_ratio" in gate.stdout


def test_report_draws_the_run(shuttle_run, shuttle_sample):
    output, _ = shuttle_run
    latest = rerun(shuttle_sample, output, "evaluation.min_macro_f1=0.3")  # cached: a full run
    assert latest.returncode == ExitCode.SUCCESS, latest.stderr + latest.stdout
    result = run_cli("--output", output, command="report")
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    page = open(os.path.join(output, "report", "report.html"), encoding="utf-8").read()
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert {alt for alt, _ in images} >= {
        "class distribution per split",
        "per-class metrics",
        "confusion matrix",
        "class weights",
    }
    for _, data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Pipeline gate" in page and "min_class_count" in page


def test_tuner_searches_and_the_trainer_uses_its_best_hyperparameters(shuttle_run, shuttle_sample):
    """A grid over two optimisers, two losses and two batch sizes, with L1 on: eight trials,
    then the best; neither batch size is training.batch_size, so the Trainer's comes from the
    search. PR-AUC floors gate the push (a failing one: the metric gate test)."""
    output, _ = shuttle_run
    fixed = {"depth": 1, "width": 32, "dropout": 0.1, "l1": 0.0001, "l2": 0.0}
    tuned = rerun(
        shuttle_sample,
        output,
        "evaluation.max_macro_f1_drop=1.0",  # a short search may be worse: not under test
        "evaluation.min_class_pr_auc=0.01",
        'evaluation.class_pr_auc={"1": 0.5}',  # the majority class: half its rows
        "training.model=mlp",  # the Tuner searches the MLP's settings
        "tuning.enabled=true",
        "tuning.algorithm=grid",
        "tuning.max_trials=8",
        "tuning.epochs_per_trial=2",
        "tuning.search_space.optimizer=[sgd, rmsprop]",
        "tuning.search_space.loss=[focal, logit_adjusted]",
        "tuning.search_space.batch_size=[32, 128]",
        "tuning.search_space.learning_rate=[0.01]",
        "tuning.search_space.focal_gamma=[2.0]",
        "tuning.search_space.logit_adjustment_tau=[1.0]",
        *(f"tuning.search_space.{key}=[{value}]" for key, value in fixed.items()),
    )
    assert tuned.returncode == ExitCode.SUCCESS, tuned.stderr + tuned.stdout
    assert "Tuner" in tuned.stdout
    best_dir = latest_artifact_dir(output, "Tuner", "best_hyperparameters")
    with open(os.path.join(best_dir, "best_hyperparameters.txt")) as f:
        best = json.load(f)["values"]
    assert best["loss"] in ("focal", "logit_adjusted")
    assert best["optimizer"] in ("sgd", "rmsprop") and best["l1"] == 0.0001
    assert best["batch_size"] in (32, 128)
    tried = tuner_trials(output)
    assert sorted((t["optimizer"], t["loss"], t["batch_size"]) for t in tried) == [
        (optimizer, loss, batch_size)
        for optimizer in ("rmsprop", "sgd")
        for loss in ("focal", "logit_adjusted")
        for batch_size in (32, 128)
    ]
    newest = pushed_versions(output)[-1]
    with open(os.path.join(newest, "assets.extra", "training.json")) as f:
        training = json.load(f)
    assert training["tuned"] is True
    for key in ("loss", "learning_rate", "optimizer", "l1", "batch_size"):
        assert training["hyperparameters"][key] == best[key], key
    report = run_cli("--output", output, command="report")
    assert report.returncode == ExitCode.SUCCESS, report.stderr + report.stdout
    page = open(os.path.join(output, "report", "report.html"), encoding="utf-8").read()
    assert "<h2>Tuner</h2>\n<p>8 completed trials" in page
    assert f"<tr><td>batch_size</td><td>{best['batch_size']}</td></tr>" in page
    evaluated = read_evaluation(latest_artifact_dir(output, "ClassAwareEvaluator", "evaluation"))
    assert evaluated.options["min_class_pr_auc"] == 0.01
    assert evaluated.options["class_pr_auc"] == {"1": 0.5}
    assert evaluated.class_metrics["1"]["pr_auc"] >= 0.5
    assert all(m["pr_auc"] >= 0.01 for m in evaluated.class_metrics.values())


def tuner_trials(output: str) -> list[dict]:
    """The hyperparameter values and score of every completed trial (the Tuner's tuner_results)."""
    results = latest_artifact_dir(output, "Tuner", "tuner_results")
    with open(os.path.join(results, "tuner_results.json")) as f:
        return json.load(f)


def test_fars_column_names_with_slashes_and_dashes(fars_sample, tmp_path):
    output = str(tmp_path / "out")
    result = run_cli("--data", fars_sample, "--label", "target", "--output", output, *FAST)
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    assert_serves_class_names(output, "target", {str(c) for c in range(8)})


def test_penguins_string_label_string_features_missing_values_and_slices(penguins_csv, tmp_path):
    """Written as a European spreadsheet exports it: semicolons, decimal commas, Latin-1, NA
    for missing values, and quoted values with a line break, which must reach the model's
    vocabulary."""
    frame = pd.read_csv(penguins_csv)
    frame["species"] = frame["species"].replace({"Adelie": "Adélie"})
    frame["sex"] = frame["sex"].replace({"female": "fe\nmale"})
    data = str(tmp_path / "penguins.csv")
    frame.to_csv(data, index=False, sep=";", decimal=",", encoding="latin-1", na_rep="NA")
    output = str(tmp_path / "out")
    sets = [
        "data.exclude_columns=[year]",
        "data.delimiter=;",
        "data.encoding=latin-1",
        "data.missing_values=NA",
        "data.decimal=,",
        "evaluation.slices=[island]",
        "evaluation.min_slice_size=20",
        "evaluation.slice_min_accuracy={island=Biscoe: 0.3}",
    ]
    args = [arg for value in sets for arg in ("--set", value)]
    result = run_cli("--data", data, "--label", "species", "--output", output, *FAST, *args)
    assert result.returncode == ExitCode.SUCCESS, result.stderr + result.stdout
    assert_serves_class_names(output, "species", {"Adélie", "Chinstrap", "Gentoo"})
    transform = tft.TFTransformOutput(latest_artifact_dir(output, "Transform", "transform_graph"))
    assert set(transform.vocabulary_by_name("sex_xf")) == {b"fe male", b"male", b"__missing__"}
    assert set(transform.vocabulary_by_name("island_xf")) == {b"Biscoe", b"Dream", b"Torgersen"}

    evaluation = latest_artifact_dir(output, "ClassAwareEvaluator", "evaluation")
    validation = tfma.load_validation_result(evaluation)
    assert validation.validation_ok
    details = {
        tuple(dict(d.slicing_spec.feature_values).items()): d.num_matching_slices
        for d in validation.validation_details.slicing_details
    }
    assert details == {(): 1, (("island", "Biscoe"),): 1}  # overall and the bounded slice
    sliced = [m.slice_key for m in tfma.load_metrics(evaluation) if m.slice_key.single_slice_keys]
    islands = {key.single_slice_keys[0].bytes_value for key in sliced}
    assert islands == {b"Biscoe", b"Dream", b"Torgersen"}
    sizes = {  # eval examples per island
        "island=" + m.slice_key.single_slice_keys[0].bytes_value.decode(): next(
            v.value.double_value.value
            for v in m.metric_keys_and_values
            if v.key.name == "example_count"
        )
        for m in tfma.load_metrics(evaluation)
        if m.slice_key.single_slice_keys
    }
    # A slice under min_slice_size is left out of the results and does not block the push
    # (TFMA's own min_slice_size fails every threshold on it).
    assert min(sizes.values()) < 20
    slices = read_evaluation(evaluation).slice_metrics
    assert set(slices) == {name for name, size in sizes.items() if size >= 20}
    for metrics in slices.values():  # overall-type metrics only, no collapsed per-class ones
        assert 0 <= metrics["accuracy"] <= 1 and "recall" not in metrics


def test_schema_gate_stops_the_run_before_training(shuttle_sample, tmp_path):
    """A curated schema that requires a column the data lacks fails the schema gate."""
    schema = tmp_path / "schema.pbtxt"
    schema.write_text(
        'feature { name: "A1" type: FLOAT presence { min_fraction: 1.0 } }\n'
        'feature { name: "sensor_id" type: INT presence { min_fraction: 1.0 } }\n'
    )
    output = str(tmp_path / "out")
    result = run_cli(
        "--data",
        shuttle_sample,
        "--label",
        "target",
        "--output",
        output,
        *FAST,
        "--set",
        f"data.schema={schema}",
    )
    assert result.returncode == ExitCode.SCHEMA_GATE_FAILED, result.stderr + result.stdout
    assert "sensor_id" in result.stderr and "does not match the schema" in result.stderr
    assert "Trainer" not in result.stdout
    assert pushed_versions(output) == []
    gate = run_gate(output)
    assert gate.returncode == ExitCode.SCHEMA_GATE_FAILED
    assert "schema gate failed" in gate.stdout and "sensor_id" in gate.stdout


def test_wrong_label_is_bad_input_with_a_suggestion(shuttle_sample, tmp_path):
    result = run_cli("--data", shuttle_sample, "--label", "Target", "--output", str(tmp_path))
    assert result.returncode == ExitCode.BAD_INPUT
    assert "label column 'Target' is not in the data" in result.stderr
    assert "Did you mean 'target'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_no_better_than_chance_is_never_pushed(tmp_path):
    """Features that carry nothing: the default chance gate stops the push, with no floor set.

    The labels also differ only by case and spaces, which the run warns about,
    quoting the label a table would otherwise show like another, and one is HTML,
    which the gate's Markdown summary shows as text.
    """
    labels = np.random.default_rng(0).choice(["a", "a ", "A", "<b>x</b>"], size=400)
    data = str(tmp_path / "data.csv")
    pd.DataFrame({"constant": 1.5, "target": labels}).to_csv(data, index=False)
    output = str(tmp_path / "out")
    result = run_cli("--data", data, "--label", "target", "--output", output, *FAST)
    assert result.returncode == ExitCode.METRIC_GATE_FAILED, result.stderr + result.stdout
    assert (
        "balanced_accuracy vs chance (1/4 + evaluation.chance_margin) on overall: 0.2500, "
        "needs >= 0.3" in result.stderr
    )
    assert pushed_versions(output) == []
    warning = next(line for line in result.stdout.splitlines() if "differ only by case" in line)
    assert all(repr(label) in warning for label in ("a", "a ", "A")), warning
    assert re.search(r"^  'a ' {2,}(nan|[\d.]+) ", result.stdout, re.MULTILINE), result.stdout

    gate = run_gate(output)
    assert gate.returncode == ExitCode.METRIC_GATE_FAILED
    assert "balanced_accuracy vs chance" in gate.stdout
    report = run_cli("--output", output, command="report")
    for command in (gate, report):  # TensorFlow's C++ start-up lines stay off the console
        assert command.stderr == "", command.stderr
    with open(os.path.join(output, "gate", "summary.md"), encoding="utf-8") as f:
        summary = MarkdownIt("commonmark", {"html": True}).enable("table").render(f.read())
    assert "<b>" not in summary and "&lt;b&gt;x&lt;/b&gt;" in summary  # a label, not markup
