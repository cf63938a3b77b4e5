"""Progress reports of long loops: the step, the detail, the time left, and throttling."""

import logging

import numpy as np
import pytest

from components.modules import progress, trees
from tests.components.modules.test_trees import HPARAMS, _data


@pytest.fixture
def reports(caplog):
    caplog.set_level(logging.INFO, logger=progress.LOGGER.name)
    return lambda: [r for r in caplog.records if r.name == progress.LOGGER.name]


def test_a_step_names_its_count_detail_and_time_left(reports, monkeypatch):
    clock = iter([100.0, 110.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    progress.Progress("epoch", 30, at_most=True).step(10, "val macro-F1 0.912")
    (record,) = reports()
    assert record.getMessage() == "epoch 10/30 · val macro-F1 0.912 · at most 20 s left"
    assert record.final is False


def test_steps_are_throttled_but_the_last_one_is_always_reported(reports):
    loop = progress.Progress("round", 1000)
    for done in range(1, 1001):
        loop.step(done)
    messages = [r.getMessage() for r in reports()]
    assert messages[0].startswith("round 1/1000 · about")
    assert messages[-1] == "round 1000/1000"
    assert reports()[-1].final is True
    assert len(messages) < 10  # a thousand quick steps do not flood the log


def test_boosting_rounds_are_read_from_scikit_learns_verbose_output(reports, capsys):
    x, y = _data(3)
    trees.fit_trees(x[:1000], y[:1000], np.ones(1000), x[1000:], y[1000:], 3, HPARAMS)
    messages = [r.getMessage() for r in reports()]
    assert messages[0].startswith("boosting round 1/40 · about")
    assert "boosting round 40/40" in messages
    assert messages[-1] == "choosing the round 40/40"
    assert "[40/40]" not in capsys.readouterr().out  # the reports replace scikit-learn's lines
