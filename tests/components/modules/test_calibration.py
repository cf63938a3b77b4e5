"""Temperature scaling and calibration measures on cases with known answers."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import log_loss

from components.modules import calibration, ensemble


def _sampled(true_logits: np.ndarray, seed: int = 0) -> np.ndarray:
    """Labels drawn from softmax(true_logits): those logits are calibrated by construction."""
    rng = np.random.default_rng(seed)
    probabilities = softmax(true_logits, axis=1)
    return np.array([rng.choice(len(p), p=p) for p in probabilities])


@pytest.mark.parametrize("scale", [0.4, 1.0, 3.0])
def test_the_fitted_temperature_undoes_a_known_scaling(scale):
    rng = np.random.default_rng(1)
    true_logits = rng.normal(scale=2.0, size=(20000, 4))
    labels = _sampled(true_logits)
    temperature = calibration.fit_temperature(labels, true_logits * scale)
    assert temperature == pytest.approx(scale, rel=0.05)


def test_log_loss_is_scikit_learns_and_temperature_keeps_the_argmax():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(500, 3)) * 4
    labels = rng.integers(0, 3, size=500)
    expected = log_loss(labels, softmax(logits, axis=1), labels=range(3))
    assert ensemble.log_loss(labels, softmax(logits, axis=1)) == pytest.approx(expected, rel=1e-6)
    temperature = calibration.fit_temperature(labels, logits)
    assert temperature > 1  # random labels: overconfident logits are softened
    assert np.array_equal((logits / temperature).argmax(1), logits.argmax(1))


def test_classwise_ece_on_a_known_case():
    # Class 0 scored 0.8 on four rows, of which two are class 0: |0.8 - 0.5| in one bin.
    probabilities = np.array([[0.8, 0.2]] * 4)
    labels = np.array([0, 0, 1, 1])
    assert calibration.classwise_ece(labels, probabilities) == pytest.approx(0.3)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert calibration.classwise_ece(np.array([0, 1]), perfect) == 0.0


def test_the_summary_shows_calibration_improving_on_overconfident_scores():
    rng = np.random.default_rng(3)
    true_logits = rng.normal(scale=1.5, size=(5000, 3))
    labels = _sampled(true_logits)
    overconfident = true_logits * 3
    temperature = calibration.fit_temperature(labels, overconfident)
    summary = calibration.calibration_summary(labels, overconfident, temperature)
    before, after = summary["val_log_loss"]
    assert after < before
    ece_before, ece_after = summary["val_classwise_ece"]
    assert ece_after < ece_before / 2
    reliability_before, _ = summary["reliability"]
    assert sum(reliability_before["rows"]) == 5000


def test_perfectly_separated_validation_rows_do_not_drive_the_temperature_to_its_bound():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, size=40)
    logits = rng.normal(size=(40, 3))
    logits[np.arange(40), labels] += 3.0  # every row right, with some margin
    temperature = calibration.fit_temperature(labels, logits)
    assert calibration.TEMPERATURE_RANGE[0] * 2 < temperature < 1.0


def test_the_guard_keeps_a_temperature_that_helps_both_halves():
    rng = np.random.default_rng(5)
    true_logits = rng.normal(scale=1.5, size=(2000, 3))
    labels = _sampled(true_logits)
    temperature, report = calibration.guarded_temperature(labels, true_logits * 3, seed=0)
    assert report["kept"] and all(gain > 0 for gain in report["log_loss_gains_on_the_other_half"])
    assert temperature == calibration.fit_temperature(labels, true_logits * 3)


def test_the_guard_serves_calibrated_scores_unchanged():
    """Logits calibrated by construction: here no T helps both halves, so T stays 1.

    (Over 40 such draws of 400 rows, 31 keep T = 1; the others keep a T that
    happened to help both halves.)
    """
    rng = np.random.default_rng(6)
    true_logits = rng.normal(scale=1.5, size=(400, 3))
    labels = _sampled(true_logits)
    temperature, report = calibration.guarded_temperature(labels, true_logits, seed=0)
    assert not report["kept"] and temperature == 1.0
    assert min(report["log_loss_gains_on_the_other_half"]) <= 0
