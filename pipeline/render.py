"""A run's outcome and verdict as text: the console, Markdown for a PR comment, JUnit XML.

Pure functions of (RunOutcome, Verdict). Markdown comes from a template whose
cells are escaped, so a class named `<script>` or `a|b` cannot inject markup
into a PR comment or break the table. The HTML report is in pipeline.report.
"""

import math
import os
from xml.etree import ElementTree

import jinja2

from components.class_skew.analysis import label_text
from components.modules.errors import ExitCode
from pipeline.outcome import RunOutcome
from pipeline.verdict import Verdict

COLUMNS = ("gate", "check", "class", "slice", "value", "bound")
PER_CLASS = ("precision", "recall", "f1")
EVALUATED = (ExitCode.SUCCESS, ExitCode.METRIC_GATE_FAILED)  # verdicts with metrics to show
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pipeline", "templates"),
    autoescape=jinja2.select_autoescape(["html.j2"]),  # the HTML report; Markdown escapes itself
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


MARKDOWN_MARKUP = set("\\`*_[]<>&!#|~")  # characters that can start markup or end a cell


def markdown_text(text: str) -> str:
    """Text that Markdown shows as it is, on one line, also inside a table cell: no HTML tag,
    entity, link, image, emphasis or code can start in it (CommonMark's backslash escapes)."""
    escaped = "".join("\\" + char if char in MARKDOWN_MARKUP else char for char in str(text))
    return " ".join(escaped.splitlines())


TEMPLATES.filters["md"] = markdown_text
TEMPLATES.filters["fixed4"] = lambda value: f"{value:.4f}"
TEMPLATES.filters["extract"] = lambda key, mapping: mapping.get(key, math.nan)


def row_counts_text(outcome: RunOutcome) -> str:
    """One line: CSV rows -> examples per split -> ... -> evaluated eval examples."""
    counts = outcome.row_counts
    if counts is None or outcome.evaluation is None:
        return ""

    def splits(step: str) -> str:
        return " + ".join(f"{counts[step].get(split)} {split}" for split in counts["examples"])

    steps = [f"ExampleGen {splits('examples')}"]
    if counts["csv_rows"] is not None:
        steps.insert(0, f"CSV {counts['csv_rows']}")
    steps += [
        f"StatisticsGen {splits('statistics')}",
        f"Transform {splits('transformed')}",
        f"Evaluator {outcome.evaluation.example_count} eval",
    ]
    return " -> ".join(steps)


def console_summary(outcome: RunOutcome, verdict: Verdict) -> str:
    """What `run` prints after the components: warnings, row counts and the metrics."""
    evaluation = outcome.evaluation
    if evaluation is None:
        return ""
    lines = []
    if verdict.warnings:
        lines += ["", "Class-skew warnings:", *(f"  {warning}" for warning in verdict.warnings)]
    if outcome.row_counts:
        lines += ["", f"Rows per step: {row_counts_text(outcome)}"]
    lines += ["", f"Evaluated {evaluation.example_count} eval examples:"]
    lines += [f"  {name:<18} {value:.4f}" for name, value in evaluation.metrics.items()]
    lines.append(f"  {'class':<12} {'precision':>9} {'recall':>9} {'f1':>9}")
    for name, values in evaluation.class_metrics.items():
        cells = "".join(f" {values.get(m, math.nan):9.4f}" for m in PER_CLASS)
        lines.append(f"  {label_text(name):<12}{cells}")
    return "\n".join(lines)


def failure_table(verdict: Verdict) -> str:
    """The failed checks as aligned plain-text columns, for the console."""
    rows = [COLUMNS, *(failure.cells() for failure in verdict.failures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


def markdown(outcome: RunOutcome, verdict: Verdict) -> str:
    """The gate summary for a PR comment or a CI job summary."""
    text = TEMPLATES.get_template("summary.md.j2").render(
        verdict=verdict,
        evaluation=outcome.evaluation if verdict.exit_code in EVALUATED else None,
        row_counts=row_counts_text(outcome),
        tuning=outcome.tuning,
        columns=COLUMNS,
        per_class=PER_CLASS,
    )
    return text.rstrip("\n") + "\n"


def junit_xml(verdict: Verdict) -> str:
    """One test case per gate; each failed check is a failure inside its gate's case."""
    suite = ElementTree.Element("testsuite", name="pipeline-gates")
    for gate in ("schema", "class_skew", "metric"):
        case = ElementTree.SubElement(suite, "testcase", classname="pipeline", name=f"{gate} gate")
        for failure in (f for f in verdict.failures if f.gate == gate):
            details = zip(COLUMNS[2:], failure.cells()[2:], strict=True)
            text = ", ".join(f"{name}={value}" for name, value in details if value)
            ElementTree.SubElement(case, "failure", message=failure.check).text = text
    if verdict.exit_code in (ExitCode.INTERNAL_ERROR, ExitCode.ROW_COUNT_MISMATCH):
        case = ElementTree.SubElement(suite, "testcase", classname="pipeline", name="run finished")
        ElementTree.SubElement(case, "error", message=verdict.headline)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(len(verdict.failures)))
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def write_gate_files(outcome: RunOutcome, verdict: Verdict, directory: str) -> tuple[str, str]:
    """Writes junit.xml and summary.md; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    junit_path = os.path.join(directory, "junit.xml")
    markdown_path = os.path.join(directory, "summary.md")
    with open(junit_path, "w", encoding="utf-8") as f:
        f.write(junit_xml(verdict))
    with open(markdown_path, "w", encoding="utf-8") as f:
        f.write(markdown(outcome, verdict))
    return junit_path, markdown_path
