"""What a run's outcome means: pass or which gate failed, as a pure function of the outcome.

`run` and `gate` both decide here, so a run and a later `gate` on its output
always agree on the exit code and the failed checks.
"""

import dataclasses

from components.class_skew.analysis import flag_text
from components.modules.errors import ExitCode
from pipeline.outcome import Failure, RunOutcome


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The exit code, a one-line headline, every failed check and the warnings."""

    exit_code: ExitCode
    headline: str
    failures: tuple[Failure, ...] = ()
    warnings: tuple[str, ...] = ()
    message: str = ""  # what `run` says on stderr when it fails

    @property
    def passed(self) -> bool:
        return self.exit_code == ExitCode.SUCCESS


def _data_failures(data_checks) -> tuple[Failure, ...]:
    """The data checks' findings as failed checks."""
    failures = [
        Failure("schema", text, slice=f"{split} split", value=column)
        for split, column, text in data_checks["anomalies"]
    ]
    failures += [
        Failure("schema", change, slice="vs served model", value=column)
        for column, change in data_checks["drift"]
    ]
    failures += [
        Failure(
            "class_skew",
            f"class_skew.{flag['check']}",
            cls=flag["class"] or "",
            slice=f"{flag['split']} split",
            value=f"{flag['value']:g}",
            bound=f"{flag['threshold']:g}",
        )
        for flag in data_checks["gated_class_skew"]
    ]
    return tuple(failures)


def _metric_message(failures: tuple[Failure, ...]) -> str:
    lines = [
        f"{f.check}{f' of class {f.cls}' if f.cls else ''} on {f.slice}: {f.value}, needs {f.bound}"
        for f in failures
    ]
    return "the model did not pass the metric gate and was not pushed:\n  - " + "\n  - ".join(
        lines or ["see the Evaluator output"]
    )


def verdict(outcome: RunOutcome) -> Verdict:
    """Decides the run: data gate, then row counts, then the metric gate and the push."""
    warnings = tuple(
        flag_text(flag)
        for flag in (outcome.class_skew["flags"] if outcome.class_skew else ())
        if flag["action"] == "warn"
    )
    if outcome.data_checks is not None and not outcome.data_checks["passed"]:
        return Verdict(
            ExitCode.SCHEMA_GATE_FAILED,
            "schema gate failed: nothing was trained",
            _data_failures(outcome.data_checks),
            warnings,
            outcome.data_checks["message"],
        )
    if "RowCounts" in outcome.failed_components:
        headline = "row counts differ between steps: nothing was trained"
        return Verdict(ExitCode.ROW_COUNT_MISMATCH, headline, (), warnings, headline)
    evaluation = outcome.evaluation
    if evaluation is None:
        failed = ", ".join(outcome.failed_components) or "unknown"
        headline = f"the run did not finish (failed: {failed})"
        message = "the run finished without an evaluation; see the log file"
        return Verdict(ExitCode.INTERNAL_ERROR, headline, (), warnings, message)
    if evaluation.failures or not outcome.blessed:
        return Verdict(
            ExitCode.METRIC_GATE_FAILED,
            "metric gate failed: the model was not pushed",
            evaluation.failures,
            warnings,
            _metric_message(evaluation.failures),
        )
    return Verdict(ExitCode.SUCCESS, "passed: schema and metric gates", (), warnings)
