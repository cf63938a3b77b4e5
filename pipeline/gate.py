"""`pipeline_runner.py gate`: the schema and metric gates of the latest run, for CI.

Reads what the latest run's components wrote (ExampleValidator anomalies, the
class-skew report, the Evaluator's validation result), lists every failed
check, writes OUTPUT/gate/junit.xml and OUTPUT/gate/summary.md, and returns the
exit code CI should fail with.
"""

import dataclasses
import os
from xml.etree import ElementTree

from components.class_skew import flag_text, read_report
from components.data_gate import drift_from_baseline, read_anomalies
from components.row_counts import describe_row_counts, read_row_counts
from pipeline.errors import ExitCode
from pipeline.results import Failure, LatestRun, read_evaluation


@dataclasses.dataclass
class GateResult:
    exit_code: ExitCode
    verdict: str
    failures: list[Failure]
    warnings: list[str]
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    class_metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    row_counts: str = ""  # rows per step, when the run got that far


def _data_checks(run: LatestRun) -> tuple[list[Failure], list[str]]:
    """Schema anomalies and class-skew flags: failures (gated) and warnings."""
    failures, warnings = [], []
    anomalies = run.output("ExampleValidator", "anomalies")
    if anomalies is not None:
        for split, column, text in read_anomalies(anomalies):
            failures.append(Failure("schema", text, slice=f"{split} split", value=column))
    statistics = run.input("DataGate", "statistics")
    if statistics is not None:
        baseline = run.input("DataGate", "baseline_model")
        for column, change in drift_from_baseline(statistics, baseline):
            failures.append(Failure("schema", change, slice="vs served model", value=column))
    skew = run.output("ClassSkew", "report")
    for flag in read_report(skew.uri)["flags"] if skew is not None else []:
        check = f"class_skew.{flag['check']}"
        if flag["action"] == "gate":
            failures.append(
                Failure(
                    "class_skew",
                    check,
                    cls=flag["class"] or "",
                    slice=f"{flag['split']} split",
                    value=f"{flag['value']:g}",
                    bound=f"{flag['threshold']:g}",
                )
            )
        else:
            warnings.append(flag_text(flag))
    return failures, warnings


def evaluate_gates(metadata_path: str) -> GateResult:
    """Collects every failed check of the latest run and the exit code it implies."""
    run = LatestRun(metadata_path)
    failures, warnings = _data_checks(run)
    if failures:
        verdict = "schema gate failed: nothing was trained"
        return GateResult(ExitCode.SCHEMA_GATE_FAILED, verdict, failures, warnings)
    if run.failed("RowCounts"):
        verdict = "row counts differ between steps: nothing was trained"
        return GateResult(ExitCode.ROW_COUNT_MISMATCH, verdict, failures, warnings)
    evaluation = run.output("ClassAwareEvaluator", "evaluation")
    blessing = run.output("ClassAwareEvaluator", "blessing")
    if evaluation is None or blessing is None:
        failed = ", ".join(name for name in run.executions if run.failed(name)) or "unknown"
        verdict = f"the run did not finish (failed: {failed})"
        return GateResult(ExitCode.INTERNAL_ERROR, verdict, failures, warnings)
    outcome = read_evaluation(evaluation.uri)
    failures = outcome.failed_checks
    if failures or blessing.get_int_custom_property("blessed") != 1:
        code, verdict = ExitCode.METRIC_GATE_FAILED, "metric gate failed: the model was not pushed"
    else:
        code, verdict = ExitCode.SUCCESS, "passed: schema and metric gates"
    counts = run.output("RowCounts", "report")
    rows = describe_row_counts(read_row_counts(counts.uri), outcome.example_count) if counts else ""
    return GateResult(
        code, verdict, failures, warnings, outcome.metrics, outcome.class_metrics, rows
    )


COLUMNS = ("gate", "check", "class", "slice", "value", "bound")


def format_table(result: GateResult) -> str:
    rows = [COLUMNS, *(failure.cells() for failure in result.failures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


def format_markdown(result: GateResult) -> str:
    mark = "✅" if result.exit_code == ExitCode.SUCCESS else "❌"
    lines = [f"## {mark} Pipeline gate: {result.verdict}", ""]
    if result.failures:
        lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for failure in result.failures:
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in failure.cells()) + " |")
        lines.append("")
    if result.metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in result.metrics.items()]
        lines += ["", "| class | precision | recall | f1 |", "|---|---|---|---|"]
        for name, values in result.class_metrics.items():
            cells = [f"{values.get(m, float('nan')):.4f}" for m in ("precision", "recall", "f1")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if result.row_counts:
        lines += [f"Rows per step: {result.row_counts}", ""]
    if result.warnings:
        lines += ["Warnings:", *(f"- {warning}" for warning in result.warnings), ""]
    return "\n".join(lines)


def junit_xml(result: GateResult) -> str:
    """One test case per gate; each failed check is a failure inside its gate's case."""
    suite = ElementTree.Element("testsuite", name="pipeline-gates")
    for gate in ("schema", "class_skew", "metric"):
        case = ElementTree.SubElement(suite, "testcase", classname="pipeline", name=f"{gate} gate")
        for failure in (f for f in result.failures if f.gate == gate):
            details = zip(COLUMNS[2:], failure.cells()[2:], strict=True)
            text = ", ".join(f"{name}={value}" for name, value in details if value)
            ElementTree.SubElement(case, "failure", message=failure.check).text = text
    if result.exit_code in (ExitCode.INTERNAL_ERROR, ExitCode.ROW_COUNT_MISMATCH):
        case = ElementTree.SubElement(suite, "testcase", classname="pipeline", name="run finished")
        ElementTree.SubElement(case, "error", message=result.verdict)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(len(result.failures)))
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def write_gate_files(result: GateResult, directory: str) -> tuple[str, str]:
    os.makedirs(directory, exist_ok=True)
    junit_path = os.path.join(directory, "junit.xml")
    markdown_path = os.path.join(directory, "summary.md")
    with open(junit_path, "w", encoding="utf-8") as f:
        f.write(junit_xml(result))
    with open(markdown_path, "w", encoding="utf-8") as f:
        f.write(format_markdown(result))
    return junit_path, markdown_path
