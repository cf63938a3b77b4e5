"""Command line for the imbalanced multiclass TFX pipeline.

    python pipeline_runner.py run --data PATH --label NAME [--config FILE]
        [--output DIR] [--set section.key=value ...]
    python pipeline_runner.py gate [--output DIR]
    python pipeline_runner.py report [--output DIR]
    python pipeline_runner.py predict --data PATH [--output DIR] [--model DIR]
        [--predictions FILE] [--config FILE] [--set section.key=value ...]
    python pipeline_runner.py compile --target vertex --output FILE [--config FILE]
        [--data PATH] [--label NAME] [--set section.key=value ...]
    python pipeline_runner.py submit --spec FILE [--config FILE] [--set ...] [--wait]

Only parses arguments, loads the config, dispatches and maps errors to the
exit codes in components.modules.errors.ExitCode.
"""

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from components.modules.errors import ExitCode, PipelineError


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
    predict = commands.add_parser(
        "predict", help="score a CSV with the latest pushed model (or --model), on Beam"
    )
    predict.add_argument("--data", help="CSV file (plain or .gz) or folder of CSV files")
    predict.add_argument("--output", help="the run's output directory (default: ./output)")
    predict.add_argument("--model", help="a SavedModel directory instead of the latest pushed one")
    predict.add_argument(
        "--predictions", help="the CSV file to write (default: OUTPUT/predictions/<data>.csv)"
    )
    predict.add_argument("--label", help="the label column, if the data has it (ignored)")
    predict.add_argument("--config", help="YAML config file: data (CSV options, ID columns), beam")
    predict.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
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


def _config(args: argparse.Namespace):
    """The config of `run` and `predict`: the YAML file, --set, then the flags."""
    from pipeline.config import load_config

    return load_config(
        args.config,
        args.set,
        data__path=args.data,
        data__label=args.label,
        pipeline__output=args.output,
    )


def _run(args: argparse.Namespace) -> ExitCode:
    from pipeline.runners import run_local

    config = _config(args)
    outcome = run_local(config)
    from pipeline.render import console_summary  # TensorFlow: only once the input is checked
    from pipeline.verdict import verdict

    result = verdict(outcome)
    summary = console_summary(outcome, result)
    if summary:
        print(summary)
    if not result.passed:
        raise PipelineError(result.message, result.exit_code)
    print(f"\nModel blessed and pushed to {outcome.pushed_to}")
    return ExitCode.SUCCESS


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines ignore
    TF_CPP_MIN_LOG_LEVEL. Errors are printed after it has ended."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _latest_run(output: str):
    """(the output paths, the latest run's outcome, its verdict), for gate and report."""
    from pipeline.outcome import read_outcome
    from pipeline.pipeline import OutputPaths
    from pipeline.verdict import verdict

    # TFMA's readers log TensorFlow deprecation warnings that say nothing to a user.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    paths = OutputPaths(os.path.abspath(output))
    outcome = read_outcome(paths.metadata)
    return paths, outcome, verdict(outcome)


def _gate(args: argparse.Namespace) -> ExitCode:
    from pipeline.render import failure_table, write_gate_files

    paths, outcome, result = _latest_run(args.output)
    print(f"Gate: {result.headline}")
    if result.failures:
        print(failure_table(result))
    for warning in result.warnings:
        print(f"warning: {warning}")
    junit, markdown = write_gate_files(outcome, result, os.path.join(paths.root, "gate"))
    print(f"Wrote {junit} and {markdown}")
    return result.exit_code


def _report(args: argparse.Namespace) -> ExitCode:
    from pipeline.report import write_report

    paths, outcome, result = _latest_run(args.output)
    print(f"Wrote {write_report(outcome, result, os.path.join(paths.root, 'report'))}")
    return ExitCode.SUCCESS


def _predict(args: argparse.Namespace) -> ExitCode:
    from pipeline.predict import predict

    config = _config(args)
    written, model = predict(config, args.model, args.predictions)
    print(f"Wrote {written} (model {model.path})")
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
    "predict": _predict,
    "compile": _compile,
    "submit": _submit,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info and warnings
    # `run` sends them to its log file itself; gate, report and predict print only their own
    # lines.
    quiet = args.command in ("gate", "report", "predict")
    try:
        with _native_stderr_silenced() if quiet else contextlib.nullcontext():
            return int(COMMANDS[args.command](args))
    except PipelineError as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - last resort: one line, full trace in the log
        print(f"\ninternal error: {error}", file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)


def exit_now(code: int) -> None:
    """Ends the process without Python's own shutdown of TensorFlow, Beam and gRPC, which
    takes seconds and writes nothing (BENCHMARKS.md, "Overhead"): by now every output is
    closed, and the streams and log handlers are flushed here."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
