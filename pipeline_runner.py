"""Command line for the imbalanced multiclass TFX pipeline.

    python pipeline_runner.py run --data PATH --label NAME [--config FILE]
        [--output DIR] [--set section.key=value ...]
    python pipeline_runner.py gate [--output DIR]
    python pipeline_runner.py report [--output DIR]
    python pipeline_runner.py compile --target vertex --output FILE [--config FILE]
        [--data PATH] [--label NAME] [--set section.key=value ...]
    python pipeline_runner.py submit --spec FILE [--config FILE] [--set ...] [--wait]

Only parses arguments, loads the config, dispatches and maps errors to the
exit codes in pipeline.errors.ExitCode.
"""

import argparse
import os
import sys

from pipeline.errors import ExitCode, MetricGateError, PipelineError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="TFX pipeline for imbalanced multiclass classification.",
        epilog="Exit codes: " + ", ".join(f"{code.value} {code.name.lower()}" for code in ExitCode),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally on Beam")
    run.add_argument("--data", help="CSV file (plain or .gz) or folder of CSV files")
    run.add_argument("--label", help="name of the label column")
    run.add_argument("--config", help="YAML config file (see README for the keys)")
    run.add_argument("--output", help="output directory (default: ./output)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config key, e.g. --set training.epochs=5 (repeatable)",
    )
    gate = commands.add_parser(
        "gate", help="check the latest run's schema and metric gates (for CI)"
    )
    gate.add_argument("--output", default="output", help="the run's output directory")
    report = commands.add_parser("report", help="write an HTML report of the latest run")
    report.add_argument("--output", default="output", help="the run's output directory")
    compile_ = commands.add_parser(
        "compile", help="compile the same pipeline for Vertex AI / Kubeflow Pipelines v2"
    )
    compile_.add_argument("--target", choices=["vertex"], default="vertex")
    compile_.add_argument("--output", default="pipeline.json", help=".json or .yaml spec file")
    compile_.add_argument("--data", help="data location the pipeline reads, e.g. gs://b/x.csv")
    compile_.add_argument("--label", help="name of the label column")
    compile_.add_argument("--config", help="YAML config file with a vertex section")
    compile_.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    submit = commands.add_parser(
        "submit", help="submit a compiled spec to Vertex AI Pipelines (needs credentials)"
    )
    submit.add_argument("--spec", default="pipeline.json", help="the compiled .json/.yaml spec")
    submit.add_argument("--config", help="YAML config file with a vertex section")
    submit.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    submit.add_argument("--wait", action="store_true", help="wait for the job to finish")
    return parser


PER_CLASS = ("precision", "recall", "f1")


def _print_outcome(outcome) -> None:
    from components.row_counts import describe_row_counts

    if outcome.skew_warnings:
        print("\nClass-skew warnings:")
        for warning in outcome.skew_warnings:
            print(f"  {warning}")
    if outcome.row_counts:
        print(f"\nRows per step: {describe_row_counts(outcome.row_counts, outcome.example_count)}")
    print(f"\nEvaluated {outcome.example_count} eval examples:")
    for name, value in outcome.metrics.items():
        print(f"  {name:<18} {value:.4f}")
    print(f"  {'class':<12} {'precision':>9} {'recall':>9} {'f1':>9}")
    for name, values in outcome.class_metrics.items():
        cells = "".join(f" {values.get(m, float('nan')):9.4f}" for m in PER_CLASS)
        print(f"  {name:<12}{cells}")


def _run(args: argparse.Namespace) -> ExitCode:
    from pipeline.config import load_config
    from pipeline.runners import run_local

    config = load_config(
        args.config,
        args.set,
        data__path=args.data,
        data__label=args.label,
        pipeline__output=args.output,
    )
    outcome = run_local(config)
    if outcome is None:
        raise PipelineError("the run finished without an evaluation; see the log file")
    _print_outcome(outcome)
    if not outcome.blessed:
        failed = [
            f"{f.check}{f' of class {f.cls}' if f.cls else ''} on {f.slice}: {f.value}, "
            f"needs {f.bound}"
            for f in outcome.failed_checks
        ]
        raise MetricGateError(
            "the model did not pass the metric gate and was not pushed:\n  - "
            + "\n  - ".join(failed or ["see the Evaluator output"])
        )
    print(f"\nModel blessed and pushed to {outcome.pushed_to}")
    return ExitCode.SUCCESS


def _gate(args: argparse.Namespace) -> ExitCode:
    from pipeline.gate import evaluate_gates, format_table, write_gate_files
    from pipeline.pipeline import OutputPaths

    paths = OutputPaths(os.path.abspath(args.output))
    result = evaluate_gates(paths.metadata)
    print(f"Gate: {result.verdict}")
    if result.failures:
        print(format_table(result))
    for warning in result.warnings:
        print(f"warning: {warning}")
    junit, markdown = write_gate_files(result, os.path.join(paths.root, "gate"))
    print(f"Wrote {junit} and {markdown}")
    return result.exit_code


def _report(args: argparse.Namespace) -> ExitCode:
    from pipeline.pipeline import OutputPaths
    from pipeline.report import write_report

    paths = OutputPaths(os.path.abspath(args.output))
    print(f"Wrote {write_report(paths.metadata, os.path.join(paths.root, 'report'))}")
    return ExitCode.SUCCESS


def _compile(args: argparse.Namespace) -> ExitCode:
    from pipeline.config import load_config
    from pipeline.vertex import compile_vertex

    config = load_config(args.config, args.set, data__path=args.data, data__label=args.label)
    print(f"Wrote {compile_vertex(config, args.output)}")
    return ExitCode.SUCCESS


def _submit(args: argparse.Namespace) -> ExitCode:
    from pipeline.config import load_config
    from pipeline.vertex import submit_vertex

    config = load_config(args.config, args.set)
    print(f"Submitted {args.spec}: {submit_vertex(config, args.spec, wait=args.wait)}")
    return ExitCode.SUCCESS


COMMANDS = {
    "run": _run,
    "gate": _gate,
    "report": _report,
    "compile": _compile,
    "submit": _submit,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info and warnings
    try:
        return int(COMMANDS[args.command](args))
    except PipelineError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - last resort: one line, full trace in the log
        print(f"\ninternal error: {error}", file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)


if __name__ == "__main__":
    sys.exit(main())
