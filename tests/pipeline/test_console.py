"""The run's console: a line per component, progress on it in a terminal, plain lines in CI."""

import io
import logging
import time

import pytest

from components.modules import progress
from pipeline import console


def _record(msg, *args, name="tfx.orchestration", **extra):
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


RUNNING = _record("Component %s is running.", "Trainer")
FINISHED = _record("Component %s is finished.", "Trainer")


def _progress(message, final=False):
    return _record(message, name=progress.LOGGER.name, final=final)


@pytest.fixture
def screen():
    """A console handler over a string buffer, and a reader of what it wrote."""
    buffer = io.StringIO()
    handlers = []

    def open_console(terminal):
        handlers.append(console.ComponentConsole(buffer, terminal=terminal))
        return handlers[-1]

    yield open_console, buffer.getvalue
    for handler in handlers:
        handler.close()


def test_a_component_without_progress_keeps_one_line(screen):
    open_console, written = screen
    handler = open_console(terminal=False)
    handler.emit(RUNNING)
    handler.emit(_record("A cached execution %d is used.", 3))
    handler.emit(FINISHED)
    assert written().startswith("  Trainer")
    assert written().endswith(" s  (cached)\n")
    assert written().count("\n") == 1


def test_plain_lines_for_ci_show_the_last_step_and_name_the_component_again(screen):
    open_console, written = screen
    handler = open_console(terminal=False)
    handler.emit(RUNNING)
    handler.emit(_progress("epoch 1/30 · val macro-F1 0.5 · at most 60 s left"))
    handler.emit(_progress("epoch 30/30 · val macro-F1 0.9", final=True))
    handler.emit(FINISHED)
    lines = written().splitlines()
    assert lines[0].strip() == "Trainer"  # broken off for the progress line
    assert lines[1].strip().endswith("s · epoch 30/30 · val macro-F1 0.9")
    assert lines[2].startswith("  Trainer") and lines[2].endswith(" s")
    assert len(lines) == 3  # the first epoch came within PLAIN_INTERVAL: not printed
    assert "\r" not in written() and "\x1b" not in written()


def test_a_terminal_line_updates_in_place_and_ends_with_the_duration(screen):
    open_console, written = screen
    handler = open_console(terminal=True)
    handler.emit(RUNNING)
    handler.emit(_progress("boosting round 3/200 · about 40 s left"))
    handler.emit(FINISHED)
    text = written()
    assert "\r  Trainer" in text and "boosting round 3/200 · about 40 s left\x1b[K" in text
    assert text.count("\n") == 1
    assert text.rstrip("\n").rsplit("\r", 1)[1].endswith(" s\x1b[K")


def test_beam_stages_name_their_top_level_transform(screen):
    assert console.beam_stage("((ref_AppliedPTransform_AnalyzeDataset-Foo_12)+(x))") == (
        "AnalyzeDataset"
    )
    assert console.beam_stage("(((ReadRows/MaybeReshuffle/Read)+(y))") == "ReadRows"
    assert console.beam_stage("ref_PCollection_PCollection_11_split") == ""
    open_console, written = screen
    handler = open_console(terminal=True)
    handler.emit(RUNNING)
    handler.emit(
        _record(
            "Running bundle for stage %s",
            "((ref_AppliedPTransform_WriteCache_3))",
            name=console.BEAM_STAGE_LOGGER,
        )
    )
    assert "Beam: WriteCache\x1b[K" in written()


def test_plain_lines_keep_coming_while_a_long_step_reports_nothing(screen, monkeypatch):
    monkeypatch.setattr(console, "PLAIN_INTERVAL", 0.2)
    monkeypatch.setattr(console, "TICK", 0.05)
    open_console, written = screen
    handler = open_console(terminal=False)
    handler.emit(RUNNING)
    deadline = time.monotonic() + 5
    while "running" not in written() and time.monotonic() < deadline:
        time.sleep(0.05)
    handler.emit(FINISHED)
    assert "    0 s · running\n" in written()
