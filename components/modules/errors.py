"""Exit codes and the errors that map to them, defined once for the CLI and the docs.

At the bottom layer, so that every layer can raise them: the module code, the
components and the host side.
"""

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes of `pipeline_runner.py` (documented in the README)."""

    SUCCESS = 0
    INTERNAL_ERROR = 1
    BAD_INPUT = 2
    SCHEMA_GATE_FAILED = 3
    METRIC_GATE_FAILED = 4
    ROW_COUNT_MISMATCH = 5
    INTERRUPTED = 130  # Ctrl-C: the shell's code for SIGINT (128 + 2)


class PipelineError(Exception):
    """An error a user can act on: the message names the problem and the fix."""

    exit_code = ExitCode.INTERNAL_ERROR

    def __init__(self, message: str, exit_code: ExitCode | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class BadInputError(PipelineError):
    """Bad data path, data file or configuration."""

    exit_code = ExitCode.BAD_INPUT


class SchemaGateError(PipelineError):
    """The data failed the schema or class-skew gate; nothing was trained."""

    exit_code = ExitCode.SCHEMA_GATE_FAILED


class RowCountError(PipelineError):
    """A step lost or added rows; the run stopped before training or before the push."""

    exit_code = ExitCode.ROW_COUNT_MISMATCH
