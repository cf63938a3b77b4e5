"""The console, Markdown and JUnit renderings of a run, and that user text cannot inject."""

import html
import math
from xml.etree import ElementTree

import pytest
from markdown_it import MarkdownIt

from pipeline import render
from pipeline.outcome import Failure, read_only
from pipeline.verdict import verdict
from tests.pipeline import outcomes

INJECTED = Failure("metric", "recall", "<script>x</script>|[a](b)", "overall", "0.1", ">= 1")


def test_row_counts_read_as_one_line():
    assert render.row_counts_text(outcomes.outcome()) == (
        "CSV 10 -> ExampleGen 8 train + 2 eval -> StatisticsGen 8 train + 2 eval -> "
        "Transform 8 train + 2 eval -> Evaluator 2 eval"
    )
    assert render.row_counts_text(outcomes.outcome(evaluation=None)) == ""


def test_console_summary_lists_warnings_rows_and_every_class():
    run = outcomes.outcome()
    text = render.console_summary(run, verdict(run))
    assert "Class-skew warnings:\n  eval: class 'a|b' has only 2 examples" in text
    assert "Rows per step: CSV 10" in text and "Evaluated 2 eval examples:" in text
    assert "  macro_f1           0.3333" in text
    assert "\n  a|b                nan    0.0000    0.0000" in text
    assert (
        render.console_summary(
            outcomes.failed_data_checks(), verdict(outcomes.failed_data_checks())
        )
        == ""
    )


def test_failure_table_aligns_columns():
    run = outcomes.failed_data_checks()
    lines = render.failure_table(verdict(run)).splitlines()
    assert lines[0].split() == list(render.COLUMNS)
    slice_column = lines[0].index("slice")
    assert all(line[slice_column:].startswith(("eval split", "vs served")) for line in lines[1:3])
    assert lines[1].split() == ["schema", "Column", "dropped", "eval", "split", "sensor_id"]


def test_markdown_of_a_pass_has_metrics_classes_rows_and_warnings():
    run = outcomes.outcome()
    text = render.markdown(run, verdict(run))
    assert text.startswith("## ✅ Pipeline gate: passed: schema and metric gates\n\n| metric |")
    assert "| macro_f1 | 0.3333 |" in text
    assert "| 1 | 1.0000 | 1.0000 | 1.0000 |" in text
    assert "| a\\|b | nan | 0.0000 | 0.0000 |" in text
    assert "\nRows per step: CSV 10 -> " in text
    assert text.endswith(
        "Warnings:\n- eval: class 'a\\|b' has only 2 examples (class\\_skew.min\\_class\\_count)\n"
    )
    assert "\n\n\n" not in text


def test_markdown_cells_cannot_inject_html_links_or_columns():
    run = outcomes.outcome(evaluation=outcomes.evaluation((INJECTED,)), blessed=False)
    text = render.markdown(run, verdict(run))
    row = next(line for line in text.splitlines() if line.startswith("| metric | recall"))
    assert row.count(" | ") == len(render.COLUMNS) - 1  # the class's '|' is escaped
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script>" not in html and "<a " not in html
    assert "<td>&lt;script&gt;x&lt;/script&gt;|[a](b)</td>" in html


@pytest.mark.parametrize(
    "label",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ `code`",
        "![x](http://e/x.png)",
        "&lt;b&gt;",
        "# heading",
        "~~gone~~",
        "a\nb",
    ],
)
def test_markdown_shows_any_label_as_written(label):
    shown = (
        MarkdownIt("commonmark", {"html": True})
        .enable("strikethrough")
        .render(render.markdown_text(label))
    )
    expected = html.escape(" ".join(label.splitlines()), quote=False)
    assert shown.strip() == f"<p>{expected}</p>"


def test_markdown_of_a_stopped_run_has_no_metrics():
    run = outcomes.failed_data_checks()
    text = render.markdown(run, verdict(run))
    assert text.startswith("## ❌ Pipeline gate: schema gate failed")
    assert "| schema | Column dropped |  | eval split | sensor\\_id |  |" in text
    assert "| metric | value |" not in text


def test_junit_has_one_case_per_gate_and_one_failure_per_check():
    run = outcomes.failed_data_checks()
    suite = ElementTree.fromstring(render.junit_xml(verdict(run)))
    assert suite.get("tests") == "3" and suite.get("failures") == "3"
    cases = {case.get("name"): case for case in suite}
    assert len(cases["schema gate"].findall("failure")) == 2
    (skew,) = cases["class_skew gate"].findall("failure")
    assert skew.get("message") == "class_skew.max_imbalance_ratio" and "value=2" in skew.text
    assert cases["metric gate"].findall("failure") == []


def test_junit_reports_an_unfinished_run_as_an_error():
    run = outcomes.outcome(failed_components=("Trainer",), evaluation=None)
    suite = ElementTree.fromstring(render.junit_xml(verdict(run)))
    (error,) = suite.iter("error")
    assert "did not finish" in error.get("message")


def test_gate_files_are_written(tmp_path):
    run = outcomes.outcome()
    junit, markdown = render.write_gate_files(run, verdict(run), str(tmp_path / "gate"))
    assert ElementTree.parse(junit).getroot().get("failures") == "0"
    assert open(markdown, encoding="utf-8").read() == render.markdown(run, verdict(run))


def test_a_missing_per_class_value_is_shown_as_nan():
    run = outcomes.outcome()
    assert math.isnan(run.evaluation.class_metrics["a|b"]["precision"])
    assert "| a\\|b | nan |" in render.markdown(run, verdict(run))


def test_markdown_of_a_tuned_run_names_the_chosen_values():
    run = outcomes.outcome(tuning=read_only(outcomes.TUNING))
    text = render.markdown(run, verdict(run))
    assert (
        "\n\nTuner chose (best of 2 trials on the validation rows): batch\\_size=64, loss=focal, "
        "learning\\_rate\\_schedule=cosine\n\nWarnings:" in text
    )
    assert "Tuner chose" not in render.markdown(outcomes.outcome(), verdict(run))
