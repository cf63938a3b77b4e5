"""Per-class decision offsets: they find a better boundary where there is one, and the
two-half check refuses offsets that only fit the noise of a small validation split."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from components.modules import offsets


def _shifted_scores(rows_per_class=(600, 300, 60), shift=1.5, seed=0):
    """Log-probabilities that separate the classes but under-call the rare class by `shift`."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(rows_per_class)), rows_per_class)
    logits = rng.normal(0.0, 1.0, size=(len(labels), len(rows_per_class)))
    logits[np.arange(len(labels)), labels] += 2.0
    logits[:, -1] -= shift
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return labels, log_probabilities


@pytest.mark.parametrize("objective", ["macro_f1", "balanced_accuracy"])
def test_the_score_is_scikit_learns_on_the_argmax(objective):
    labels, log_probabilities = _shifted_scores()
    predicted = log_probabilities.argmax(axis=1)
    expected = {
        "macro_f1": f1_score(labels, predicted, average="macro"),
        "balanced_accuracy": balanced_accuracy_score(labels, predicted),
    }[objective]
    assert offsets.objective_score(objective, labels, log_probabilities) == pytest.approx(expected)


def test_fitted_offsets_raise_the_under_called_class_and_the_objective():
    labels, log_probabilities = _shifted_scores()
    fitted = offsets.fit_offsets("balanced_accuracy", labels, log_probabilities)
    assert fitted[2] - fitted[0] >= 0.75  # the rare class gets back much of its shift
    before = offsets.objective_score("balanced_accuracy", labels, log_probabilities)
    after = offsets.objective_score("balanced_accuracy", labels, log_probabilities + fitted)
    assert after > before + 0.02


def test_offsets_stay_zero_where_nothing_scores_better():
    labels = np.array([0, 0, 1, 1, 2, 2])
    perfect = np.log(np.eye(3)[labels] * 0.9 + 0.05)
    np.testing.assert_array_equal(offsets.fit_offsets("macro_f1", labels, perfect), 0.0)


def test_halves_split_every_class_evenly_and_are_disjoint():
    labels = np.array([0] * 10 + [1] * 5 + [2])
    first, second = offsets.stratified_halves(labels, seed=1)
    assert not (first & second).any() and (first | second).all()
    assert [int(first[labels == k].sum()) for k in range(3)] == [5, 3, 1]


def test_offsets_that_help_both_halves_are_used_and_averaged():
    labels, log_probabilities = _shifted_scores()
    served, report = offsets.guarded_offsets("macro_f1", labels, log_probabilities, seed=0)
    assert report["accepted"] is True
    assert all(gain > 0 for gain in report["gains_on_the_other_half"])
    assert report["offsets"] == pytest.approx(served.tolist(), abs=1e-4)
    assert served[2] > served[0]


def test_offsets_fit_to_noise_are_mostly_refused():
    """Scores that know nothing of the labels: offsets always raise the objective on the
    rows they are fit on, but the two-half check lets few of them through."""
    accepted, improved_in_sample = 0, 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        labels = np.repeat([0, 1, 2], [40, 20, 6])
        logits = rng.normal(size=(len(labels), 3))
        noise = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        served, report = offsets.guarded_offsets("macro_f1", labels, noise, seed)
        accepted += report["accepted"]
        if not report["accepted"]:
            np.testing.assert_array_equal(served, 0.0)
        fitted = offsets.fit_offsets("macro_f1", labels, noise)
        improved_in_sample += offsets.objective_score(
            "macro_f1", labels, noise + fitted
        ) > offsets.objective_score("macro_f1", labels, noise)
    assert improved_in_sample == 20
    assert accepted <= 6  # measured: 4 of 20
