"""One-vs-rest ROC-AUC, PR-AUC and their curves from per-class score histograms.

TFMA's own AUC runs one binary confusion matrix per class, threshold and
example in Python. Here one pass counts each class's scores by value,
positives and negatives apart: a merge adds counts, and the AUCs follow from
the counts exactly as scikit-learn's roc_auc_score and average_precision_score
compute them from the scores (tests/components/evaluator). A score's key is its
float32 bit pattern, taken from p below 0.5 and from 1 - p above, so it orders
the scores and keeps full precision near 0 and near 1. Should one histogram
hold more than MAX_KEYS distinct keys, it drops the lowest key bit until it
fits: nearby scores then count as ties (on FARS at 4x the cap, the AUCs stay
within 1e-3 of exact), and memory stays bounded on any amount of data.
"""

import numpy as np

MAX_KEYS = 1 << 20  # distinct (class, positive, score) counts kept before coarsening
CURVE_POINTS = 200  # at most, per drawn curve
_HALF = int(np.float32(0.5).view(np.int32))
_SCORE_BITS = 32  # a score key is below 2 * _HALF < 2**32


def score_keys(scores: np.ndarray) -> np.ndarray:
    """An integer for each probability that increases with it, float32-exact."""
    p = np.clip(np.asarray(scores, np.float32), 0.0, 1.0)
    low = np.minimum(p, np.float32(1.0) - p)  # exact in float32 for p in [0.5, 1]
    bits = low.view(np.int32).astype(np.int64)
    return np.where(p < 0.5, bits, 2 * _HALF - bits)


class ScoreHistograms:
    """Counts by (class, positive or not, score key), kept sparse; adds and merges.

    Rows wait in a buffer and are counted in batches, so adding one example
    costs no per-class Python work.
    """

    _BATCH = 4096

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.shift = 0  # low score-key bits dropped so far
        self.keys = np.zeros(0, np.int64)  # (class * 2 + positive) << 32 | score key >> shift
        self.counts = np.zeros(0, np.float64)
        self._labels: list[int] = []
        self._scores: list[np.ndarray] = []
        self._weights: list[float] = []

    def add(self, label: int, scores: np.ndarray, weight: float = 1.0) -> None:
        """One example: its class index (-1: none of the classes) and class scores."""
        self._labels.append(label)
        self._scores.append(np.asarray(scores, np.float32).reshape(-1)[: self.num_classes])
        self._weights.append(weight)
        if len(self._labels) >= self._BATCH:
            self.flush()

    def merge(self, other: "ScoreHistograms") -> "ScoreHistograms":
        other.flush()
        self.flush()
        self._coarsen(max(self.shift, other.shift))
        self._add_counts(other.coarsened_keys(self.shift), other.counts)
        return self

    def class_counts(self, class_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Positive and negative counts of one class, by score from the highest down."""
        self.flush()
        start = (class_id * 2) << _SCORE_BITS
        lo, hi = np.searchsorted(self.keys, [start, start + (2 << _SCORE_BITS)])
        keys, counts = self.keys[lo:hi], self.counts[lo:hi]
        positive = (keys >> _SCORE_BITS) % 2 == 1
        used, index = np.unique(keys & ((1 << _SCORE_BITS) - 1), return_inverse=True)
        positives = np.bincount(index, weights=counts * positive, minlength=len(used))
        negatives = np.bincount(index, weights=counts * ~positive, minlength=len(used))
        return positives[::-1], negatives[::-1]

    def flush(self) -> None:
        """Counts the buffered rows."""
        if not self._labels:
            return
        labels = np.asarray(self._labels)
        scores = np.stack(self._scores)
        weights = np.repeat(np.asarray(self._weights, np.float64), self.num_classes)
        classes = np.arange(self.num_classes)
        positive = labels[:, None] == classes[None, :]
        groups = (classes[None, :] * 2 + positive).astype(np.int64) << _SCORE_BITS
        keys = groups | (score_keys(scores) >> self.shift)
        self._labels, self._scores, self._weights = [], [], []
        self._add_counts(keys.reshape(-1), weights)

    def _add_counts(self, keys: np.ndarray, counts: np.ndarray) -> None:
        merged, index = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        self.counts = np.bincount(
            index, weights=np.concatenate([self.counts, counts]), minlength=len(merged)
        )
        self.keys = merged
        while len(self.keys) > MAX_KEYS:
            self._coarsen(self.shift + 1)

    def coarsened_keys(self, shift: int) -> np.ndarray:
        """The keys with score keys shifted right to `shift` bits dropped in all."""
        groups = (self.keys >> _SCORE_BITS) << _SCORE_BITS
        return groups | ((self.keys & ((1 << _SCORE_BITS) - 1)) >> (shift - self.shift))

    def _coarsen(self, shift: int) -> None:
        if shift == self.shift:
            return
        keys = self.coarsened_keys(shift)
        self.shift = shift
        self.keys, index = np.unique(keys, return_inverse=True)
        self.counts = np.bincount(index, weights=self.counts, minlength=len(self.keys))


def roc_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), NaN without positives or negatives."""
    if not positives.sum() or not negatives.sum():
        return float("nan")
    tpr, fpr = _rates(positives, negatives)
    return float(np.trapezoid(tpr, fpr))


def average_precision(positives: np.ndarray, negatives: np.ndarray) -> float:
    """PR-AUC as scikit-learn's average_precision_score: sum of precision x recall steps."""
    if not positives.sum():
        return float("nan")
    true_pos, predicted = np.cumsum(positives), np.cumsum(positives + negatives)
    recall_steps = positives / positives.sum()
    return float(np.sum(recall_steps * true_pos / predicted))


def roc_curve(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """[points, 2]: false positive rate, true positive rate; at most CURVE_POINTS."""
    if not positives.sum() or not negatives.sum():
        return np.zeros((0, 2))
    tpr, fpr = _rates(positives, negatives)
    return _thin(np.stack([fpr, tpr], axis=1))


def pr_curve(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """[points, 2]: recall, precision at each threshold; at most CURVE_POINTS."""
    if not positives.sum():
        return np.zeros((0, 2))
    true_pos, predicted = np.cumsum(positives), np.cumsum(positives + negatives)
    return _thin(np.stack([true_pos / positives.sum(), true_pos / predicted], axis=1))


def _rates(positives: np.ndarray, negatives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positive rates at each threshold, from (0, 0)."""
    tpr = np.concatenate([[0.0], np.cumsum(positives) / positives.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(negatives) / negatives.sum()])
    return tpr, fpr


def _thin(points: np.ndarray) -> np.ndarray:
    """Evenly spaced points of a curve, its ends kept, for drawing."""
    if len(points) <= CURVE_POINTS:
        return points
    return points[np.linspace(0, len(points) - 1, CURVE_POINTS).round().astype(int)]
