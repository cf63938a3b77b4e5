"""The HTML report: every picture drawn, every text escaped."""

import base64
import dataclasses
import re

from pipeline.outcome import Failure, read_only
from pipeline.report import build_report, write_report
from pipeline.verdict import verdict
from tests.pipeline import outcomes


def _images(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    return {alt: base64.b64decode(data) for alt, data in found}


def test_a_full_run_draws_every_picture_and_escapes_class_names():
    run = outcomes.outcome()
    page = build_report(run, verdict(run))
    images = _images(page)
    assert set(images) == {
        "class distribution per split",
        "per-class metrics",
        "confusion matrix",
        "ROC and precision-recall curves",
        "metrics per slice",
        "class weights",
        "MLP learning curves",
        "Boosted trees learning curves",
        "reliability diagrams",
    }
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
    assert "passed: schema and metric gates" in page and 'class="verdict pass"' in page
    assert "<td>hidden_units</td><td>[64, 32]</td>" in page
    assert "Model: ensemble, validation macro-F1 0.6250 on 9 rows" in page
    assert "Weight of the trees in the average: 0.75" in page
    assert (
        "Decision offsets for macro_f1: used (gain on the other validation half: 0.01, 0.02)"
        in page
    )
    assert "MLP: 12 epochs, best epoch 4 (validation macro-F1 0.5000), 3.5 s" in page
    assert "int columns also embedded per value: zone (3 values), weather (12 values)" in page
    assert "Boosted trees: 200 rounds, best round 37 (validation macro-F1 0.6000), 1.5 s" in page
    assert "Gate summary (Markdown)" in page
    assert "the gap passes 0.1 from epoch 3 on: the model overfits" in page
    assert "still improving at the last round, so it may underfit" in page
    assert "validation log-loss 0.9 → 0.7, classwise ECE 0.2 → 0.05" in page
    assert "lowered the other half's log-loss by 0.15, 0.25" in page


def test_class_names_in_failures_are_escaped():
    failure = Failure("metric", "recall", "<script>alert(1)</script>", "overall", "0.1", ">= 1")
    run = outcomes.outcome(evaluation=outcomes.evaluation((failure,)), blessed=False)
    page = build_report(run, verdict(run))
    assert "<script>" not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page
    assert 'class="verdict fail"' in page


def test_a_stopped_run_shows_the_failures_and_no_evaluation(tmp_path):
    run = outcomes.failed_data_checks()
    path = write_report(run, verdict(run), str(tmp_path / "report"))
    page = open(path, encoding="utf-8").read()
    assert 'class="verdict fail"' in page and "<td>sensor_id</td>" in page
    assert set(_images(page)) == {"class distribution per split"}
    assert "<h2>Evaluation" not in page and "<h2>Training" not in page


def test_a_trees_only_run_shows_the_trees_and_nothing_of_the_mlp():
    run = outcomes.outcome()
    training = {
        k: v
        for k, v in run.training.items()
        if k not in ("tree_weight", "decision_offsets", "integer_categories", "calibration")
    }
    training["model"] = "gbt"
    training["families"] = {"gbt": run.training["families"]["gbt"]}
    run = dataclasses.replace(run, training=read_only(training))
    page = build_report(run, verdict(run))
    assert "Model: gbt, validation macro-F1" in page and "Boosted trees: 200 rounds" in page
    assert "served trees refit on all 1000 train rows for 44 rounds" in page
    assert (
        "MLP:" not in page and "Weight of the trees" not in page and "Decision offsets" not in page
    )
    assert "<h3>Calibration</h3>" not in page  # a model from before calibration was recorded


def test_a_tuned_run_shows_the_trials_best_first_and_the_chosen_values():
    run = outcomes.outcome(tuning=read_only(outcomes.TUNING))
    page = build_report(run, verdict(run))
    assert "<h2>Tuner</h2>\n<p>2 completed trials, scored on the validation rows" in page
    chosen = "<tr><td>batch_size</td><td>64</td></tr><tr><td>loss</td><td>focal</td></tr>"
    assert chosen in page
    header = "<th>trial</th><th>validation score</th><th>batch_size</th><th>loss</th>"
    assert header + "<th>learning_rate_schedule</th></tr>" in page
    best = page.index("<tr><td>1</td><td>0.7123</td><td>64</td><td>focal</td><td>cosine</td>")
    other = "<tr><td>0</td><td>0.6000</td><td>256</td><td>logit_adjusted</td><td>plateau</td>"
    assert best < page.index(other)


def test_an_untuned_run_has_no_tuner_section():
    run = outcomes.outcome()
    assert run.tuning is None and "<h2>Tuner</h2>" not in build_report(run, verdict(run))


def test_a_hierarchy_adds_the_superclass_table_and_confusion_matrix():
    hierarchical = dataclasses.replace(
        outcomes.evaluation(),
        superclass_of=read_only({"1": "rock", outcomes.CLASSES[1]: "<b>", "a|b": "rock"}),
        superclass_recall=read_only({"<b>": float("nan"), "rock": 0.5}),
        options=read_only(
            {**outcomes.OPTIONS, "min_superclass_recall": 0.0, "superclass_recall": {"rock": 0.4}}
        ),
    )
    run = outcomes.outcome(evaluation=hierarchical)
    page = build_report(run, verdict(run))
    assert "superclass confusion matrix" in _images(page)
    assert "<tr><td>rock</td><td>0.5000</td><td>0.4</td></tr>" in page
    assert "<td>&lt;b&gt;</td>" in page and "<td><b></td>" not in page
    flat = build_report(outcomes.outcome(), verdict(outcomes.outcome()))
    assert "superclass confusion matrix" not in _images(flat)
