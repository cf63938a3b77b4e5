"""The console of a local run: one line per component, and progress inside long ones.

In a terminal the running component's line updates in place: the module code's
progress reports (components/modules/progress.py: epochs, boosting rounds,
Tuner trials) or, inside Beam steps, the time so far and the Beam stage. Where
the console is not a terminal (CI logs) the same news arrives as plain lines,
at most one every PLAIN_INTERVAL seconds. The log file keeps everything.
"""

import logging
import re
import shutil
import threading
import time
from typing import TextIO

from components.modules.progress import LOGGER as PROGRESS_LOGGER  # no TensorFlow in it

# The Beam in-memory runner names each stage it runs here, at DEBUG.
BEAM_STAGE_LOGGER = "apache_beam.runners.portability.fn_api_runner.fn_runner.run_bundle"
PLAIN_INTERVAL = 30.0  # seconds between two plain progress lines of a component
TICK = 1.0  # seconds between two updates of a terminal line
NAME_WIDTH = 28


def beam_stage(stage: str) -> str:
    """The first top-level transform named in a fused Beam stage: 'AnalyzeDataset' of
    '((ref_AppliedPTransform_AnalyzeDataset-Foo_12)+(...))'; '' if it names none."""
    match = re.search(r"ref_AppliedPTransform_([A-Za-z0-9]+)", stage) or re.search(
        r"\(([A-Za-z][A-Za-z0-9]*)/", stage
    )
    return match.group(1) if match else ""


class ComponentConsole(logging.Handler):
    """Turns LocalDagRunner's 'Component X is running/finished' logs, progress reports and
    Beam stages into console lines."""

    def __init__(self, console: TextIO, terminal: bool | None = None):
        super().__init__(logging.DEBUG)
        self._console = console
        self._terminal = console.isatty() if terminal is None else terminal
        self._lock = threading.RLock()
        self._name: str | None = None  # the running component
        self._started = 0.0
        self._cached = False
        self._news = ""  # the newest progress report or Beam stage
        self._open = False  # the component's line has no line break yet
        self._last_plain = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._tick, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            if record.msg == "Component %s is running.":
                self._start(record.args[0])
            elif record.msg == "A cached execution %d is used.":
                self._cached = True
            elif record.msg == "Component %s is finished.":
                self._finish()
            elif self._name is None:
                return
            elif record.name == PROGRESS_LOGGER.name:
                self._update(record.getMessage(), getattr(record, "final", False))
            elif record.name == BEAM_STAGE_LOGGER and record.args:
                stage = beam_stage(str(record.args[0]))
                if stage:
                    self._update(f"Beam: {stage}", final=False)

    def _start(self, name: str) -> None:
        self._name, self._started = name, time.monotonic()
        self._cached, self._news, self._last_plain = False, "", self._started
        self._write(f"  {name:<{NAME_WIDTH}} ")
        self._open = True

    def _finish(self) -> None:
        if self._name is None:
            return
        elapsed = time.monotonic() - self._started
        note = "  (cached)" if self._cached else ""
        result = f"{elapsed:6.1f} s{note}"
        if self._terminal:
            self._write(f"\r  {self._name:<{NAME_WIDTH}} {result}\x1b[K\n")
        elif self._open:
            self._write(f"{result}\n")
        else:  # plain progress lines came in between: name the component again
            self._write(f"  {self._name:<{NAME_WIDTH}} {result}\n")
        self._name, self._open = None, False

    def _update(self, news: str, final: bool) -> None:
        self._news = news
        if self._terminal:
            self._redraw()
        elif final or time.monotonic() - self._last_plain >= PLAIN_INTERVAL:
            self._plain()

    def _plain(self) -> None:
        """A plain progress line; it breaks the component's line if that is still open."""
        now = time.monotonic()
        self._last_plain = now
        text = f"{now - self._started:.0f} s · {self._news or 'running'}"
        line_break = "\n" if self._open else ""
        self._write(f"{line_break}    {text}\n")
        self._open = False

    def _redraw(self) -> None:
        elapsed = time.monotonic() - self._started
        line = f"  {self._name:<{NAME_WIDTH}} {elapsed:4.0f} s · {self._news}".rstrip(" ·")
        width = shutil.get_terminal_size().columns - 1
        self._write(f"\r{line[:width]}\x1b[K")

    def _tick(self) -> None:
        """Keeps the time moving while nothing is reported: the terminal line every TICK,
        a plain line every PLAIN_INTERVAL."""
        while not self._stop.wait(TICK):
            with self._lock:
                if self._name is None:
                    continue
                if self._terminal:
                    self._redraw()
                elif time.monotonic() - self._last_plain >= PLAIN_INTERVAL:
                    self._plain()

    def _write(self, text: str) -> None:
        self._console.write(text)
        self._console.flush()
