"""Progress of the long loops inside a component: epochs, boosting rounds, Tuner trials.

Module code reports to the `imbalanced.progress` logger. The local runner's
console shows the newest report on the running component's line in a terminal,
or as plain lines in CI logs (pipeline/console.py); the run's log file, and on
Vertex AI the job's log, keep every report as an ordinary log line. Kept free of TensorFlow: the
console imports it before TensorFlow loads.
"""

import contextlib
import io
import logging
import re
import time
from collections.abc import Iterator

LOGGER = logging.getLogger("imbalanced.progress")
MIN_INTERVAL = 1.0  # seconds between two reports of a loop; its last step is always reported


class Progress:
    """Steps 1..total of one loop, each reported with the time the rest should take.

    `at_most`: the loop may end early (early stopping), so the time left is a bound.
    """

    def __init__(self, what: str, total: int, at_most: bool = False):
        self.what, self.total, self.at_most = what, total, at_most
        self.started = time.monotonic()
        self.reported = -MIN_INTERVAL

    def step(self, done: int, detail: str = "") -> None:
        now = time.monotonic()
        if done < self.total and now - self.reported < MIN_INTERVAL:
            return
        self.reported, elapsed = now, now - self.started
        parts = [f"{self.what} {done}/{self.total}"]
        if detail:
            parts.append(detail)
        if 0 < done < self.total:
            left = elapsed / done * (self.total - done)
            parts.append(f"{'at most' if self.at_most else 'about'} {_duration(left)} left")
        LOGGER.info(" · ".join(parts), extra={"final": done == self.total})


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


class _VerboseRounds(io.TextIOBase):
    """A stdout that turns scikit-learn's `[n/N] ` round markers into progress reports;
    its line per round is dropped, the reports say the same in the log."""

    MARKER = re.compile(r"\[(\d+)/(\d+)\]")

    def __init__(self, what: str):
        self.what, self.progress = what, None

    def write(self, text: str) -> int:
        for done, total in self.MARKER.findall(text):
            if self.progress is None:
                self.progress = Progress(self.what, int(total))
            elif int(done) > 1:  # the marker opens round n: n - 1 are done
                self.progress.step(int(done) - 1)
        return len(text)


@contextlib.contextmanager
def boosting_rounds(what: str) -> Iterator[None]:
    """Reports the rounds of a HistGradientBoostingClassifier fit with verbose=1 inside."""
    rounds = _VerboseRounds(what)
    with contextlib.redirect_stdout(rounds):
        yield
    if rounds.progress is not None:
        rounds.progress.step(rounds.progress.total)
