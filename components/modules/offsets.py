"""Per-class decision offsets: shifts of the log-probabilities, fit on validation.

The argmax of probabilities trained with class weights is not the decision that
maximises macro-F1 or balanced accuracy; adding a per-class offset to each
log-probability before the argmax moves the decision boundaries towards it.
Offsets fit on a small validation split overfit its rare classes, so they are
cross-checked: offsets fit on each stratified half of the validation rows must
improve the objective on the other half, or none are used. The served offsets
are the mean of the two halves' offsets. The serving signature adds them to the
logits, so its `scores` are then the shifted (renormalised) probabilities.
"""

from typing import Any

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from components.modules.ensemble import macro_f1

OFFSET_GRID = np.round(np.arange(-2.0, 2.01, 0.25), 2)  # tried for each class in turn
PASSES = 2  # rounds of coordinate ascent over the classes


def objective_score(objective: str, labels: np.ndarray, log_probabilities: np.ndarray) -> float:
    """macro_f1 or balanced_accuracy of the argmax decisions."""
    if objective == "macro_f1":
        return macro_f1(labels, log_probabilities)
    return float(balanced_accuracy_score(labels, log_probabilities.argmax(axis=1)))


def fit_offsets(objective: str, labels: np.ndarray, log_probabilities: np.ndarray) -> np.ndarray:
    """Coordinate ascent from zero: each class's offset set to its best grid value in turn.

    A class keeps its offset unless a grid value scores strictly better, so
    offsets stay at zero where they do not help.
    """
    offsets = np.zeros(log_probabilities.shape[1])
    best = objective_score(objective, labels, log_probabilities)
    for _ in range(PASSES):
        for k in range(len(offsets)):
            for value in OFFSET_GRID:
                trial = offsets.copy()
                trial[k] = value
                score = objective_score(objective, labels, log_probabilities + trial)
                if score > best:
                    best, offsets = score, trial
    return offsets


def stratified_halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean row masks; each class's rows are dealt alternately, in random order."""
    rng = np.random.default_rng(seed)
    first = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        first[rows[::2]] = True
    return first, ~first


def guarded_offsets(
    objective: str, labels: np.ndarray, log_probabilities: np.ndarray, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Offsets cross-checked on the two halves of the validation rows, or zeros.

    Returns the offsets and a report for training.json: the gain each half's
    offsets bring to the other half, and whether they were used.
    """
    halves = stratified_halves(labels, seed)
    fitted, gains = [], []
    for fit_on, check_on in (halves, halves[::-1]):
        offsets = fit_offsets(objective, labels[fit_on], log_probabilities[fit_on])
        before = objective_score(objective, labels[check_on], log_probabilities[check_on])
        after = objective_score(objective, labels[check_on], log_probabilities[check_on] + offsets)
        fitted.append(offsets)
        gains.append(after - before)
    accepted = all(gain > 0 for gain in gains)
    offsets = np.mean(fitted, axis=0) if accepted else np.zeros(log_probabilities.shape[1])
    return offsets, {
        "objective": objective,
        "accepted": accepted,
        "gains_on_the_other_half": [round(gain, 4) for gain in gains],
        "offsets": offsets.round(4).tolist(),
    }
