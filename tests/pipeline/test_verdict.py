"""The verdict: which gate a run failed, decided from its outcome alone."""

from components.modules.errors import ExitCode
from pipeline.outcome import Failure
from pipeline.verdict import verdict
from tests.pipeline import outcomes


def test_a_blessed_run_passes_and_keeps_the_skew_warnings():
    result = verdict(outcomes.outcome())
    assert result.passed and result.exit_code == ExitCode.SUCCESS
    assert result.failures == () and result.message == ""
    assert result.warnings == (
        "eval: class 'a|b' has only 2 examples (class_skew.min_class_count)",
    )


def test_a_failed_data_gate_lists_every_finding_and_says_why():
    result = verdict(outcomes.failed_data_checks())
    assert result.exit_code == ExitCode.SCHEMA_GATE_FAILED
    assert result.headline == "schema gate failed: nothing was trained"
    assert result.message == "the data does not match the schema: ..."
    assert [f.cells() for f in result.failures] == [
        ("schema", "Column dropped", "", "eval split", "sensor_id", ""),
        ("schema", "New column", "", "vs served model", "weight", ""),
        ("class_skew", "class_skew.max_imbalance_ratio", "", "eval split", "2", "10"),
    ]


def test_lost_rows_come_before_the_evaluation():
    result = verdict(outcomes.outcome(failed_components=("RowCounts",), evaluation=None))
    assert result.exit_code == ExitCode.ROW_COUNT_MISMATCH


def test_a_run_without_an_evaluation_names_the_failed_component():
    result = verdict(outcomes.outcome(failed_components=("Trainer",), evaluation=None))
    assert result.exit_code == ExitCode.INTERNAL_ERROR
    assert "failed: Trainer" in result.headline


def test_a_failed_threshold_fails_the_metric_gate_with_the_class_named():
    recall = Failure("metric", "recall", "a|b", "overall", "0.0000", ">= 0.9")
    run = outcomes.outcome(evaluation=outcomes.evaluation((recall,)), blessed=False)
    result = verdict(run)
    assert result.exit_code == ExitCode.METRIC_GATE_FAILED and result.failures == (recall,)
    assert "not pushed" in result.message
    assert "recall of class a|b on overall: 0.0000, needs >= 0.9" in result.message


def test_an_unblessed_model_fails_even_without_a_named_threshold():
    result = verdict(outcomes.outcome(blessed=False, pushed_to=None))
    assert result.exit_code == ExitCode.METRIC_GATE_FAILED
    assert "see the Evaluator output" in result.message
