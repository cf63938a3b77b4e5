"""Runs the pipeline locally with LocalDagRunner on Beam.

The console shows one line per component with its duration and progress
inside long ones (pipeline/console.py); TensorFlow, Beam and Keras output
(Python logging and anything written to stdout/stderr, including C++ logs)
goes to a log file under OUTPUT/logs.
"""

import contextlib
import datetime
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from absl import logging as absl_logging

from components.modules.errors import BadInputError, ExitCode, PipelineError
from pipeline.config import Config
from pipeline.console import BEAM_STAGE_LOGGER, ComponentConsole

if TYPE_CHECKING:
    from pipeline.outcome import RunOutcome


@contextlib.contextmanager
def _logs_to_file(log_path: str) -> Iterator[None]:
    """Redirects logging and fds 1 and 2 to `log_path`; progress lines still reach the console."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_stdout, saved_stderr = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(1), "w", buffering=1)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with open(log_path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        file_handler = logging.StreamHandler(log)
        file_handler.setLevel(logging.INFO)  # the Beam stages below are for the console only
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        progress = ComponentConsole(console)
        root.handlers = [file_handler, progress]
        root.setLevel(logging.INFO)
        beam_stages = logging.getLogger(BEAM_STAGE_LOGGER)
        saved_beam_level = beam_stages.level
        beam_stages.setLevel(logging.DEBUG)
        # TF's SavedModel writer resets absl's level to absl's verbosity flag,
        # which defaults to WARNING and would hide the runner's progress logs.
        saved_verbosity = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.INFO)
        try:
            with _ctrl_c_ends_the_run(log, saved_stderr):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            root.handlers, root.level = saved_handlers, saved_level
            beam_stages.setLevel(saved_beam_level)
            progress.close()
            absl_logging.set_verbosity(saved_verbosity)
            os.dup2(saved_stdout, 1)
            os.dup2(saved_stderr, 2)
            os.close(saved_stdout)
            os.close(saved_stderr)
            console.close()


@contextlib.contextmanager
def _ctrl_c_ends_the_run(log: TextIO, console_fd: int) -> Iterator[None]:
    """Ctrl-C ends the run at once: `interrupted` on the console, exit code 130.

    A KeyboardInterrupt raised inside TFX can hang the run (the launcher's gRPC
    execution watcher waits forever to stop) or surface from a Beam step as a
    RuntimeError. Nothing needs cleaning up: the Pusher renames complete models
    into place, and a run stopped at any point, even by kill -9, resumes from
    the cache when started again.
    """

    def end_run(signum, frame):
        log.write("\nInterrupted (Ctrl-C): run the same command again to resume.\n")
        log.flush()
        os.write(console_fd, b"\ninterrupted\n")
        os._exit(ExitCode.INTERRUPTED)

    previous = signal.signal(signal.SIGINT, end_run)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_local(config: Config) -> "RunOutcome":
    """Checks the input, runs the whole pipeline and returns the run's outcome.

    Raises:
      PipelineError: bad input, or a gate that stopped the run.
    """
    if config.vertex.training.enabled:
        raise BadInputError(
            "vertex.training.enabled applies to `compile`/`submit`: a local run keeps its "
            "artifacts on this machine, where Vertex AI Training cannot read them; set it false "
            "for local runs (--set vertex.training.enabled=false)"
        )
    from pipeline.preflight import preflight

    print(f"Checking the input {config.data.path or config.data.query}", flush=True)
    preflight(config)
    root = os.path.abspath(config.pipeline.output)
    log_path = os.path.join(root, "logs", datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S.log"))
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    print(f"Running pipeline {config.pipeline.name!r} on {config.data.path}")
    print(f"  output: {root}\n  log:    {log_path}", flush=True)
    started = time.monotonic()
    with _logs_to_file(log_path):
        # Imported here so TensorFlow's import-time chatter goes to the log.
        from tfx import v1 as tfx

        from pipeline.outcome import read_outcome
        from pipeline.pipeline import OutputPaths, create_pipeline

        paths = OutputPaths(root)
        connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(paths.metadata)
        pipeline = create_pipeline(config, paths, connection)
        try:
            tfx.orchestration.LocalDagRunner().run(pipeline)
        except Exception as error:
            logging.exception("The pipeline run failed.")
            cause = _pipeline_error_in_chain(error)
            if cause is not None:
                raise cause from None
            raise RuntimeError(f"{type(error).__name__}: {error}\nFull log: {log_path}") from None
        outcome = read_outcome(paths.metadata)
    print(f"Finished in {time.monotonic() - started:.0f} s")
    return outcome


def _pipeline_error_in_chain(error: BaseException | None) -> PipelineError | None:
    """A gate error raised inside a component, however the runner wrapped it."""
    while error is not None:
        if isinstance(error, PipelineError):
            return error
        error = error.__cause__ or error.__context__
    return None
