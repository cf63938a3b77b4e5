"""Per-class loss weights derived from the train split's class counts.

Strategies:
- none: every class weighs 1.
- balanced: n / (K * n_c), as scikit-learn's class_weight='balanced'.
- sqrt: proportional to n_c ** -0.5, milder than balanced: rare classes gain
  recall without as many false positives.
- effective_number: (1 - beta) / (1 - beta ** n_c) (Cui et al., CVPR 2019),
  rescaled like `balanced` so that the weighted example count stays n.

Weights are then clipped to `max_weight` so that a class with a handful of
examples cannot dominate the loss.
"""

from collections.abc import Sequence

import numpy as np

from components.modules.choices import CLASS_WEIGHT_STRATEGIES


def class_weights(
    counts: Sequence[float],
    strategy: str,
    beta: float = 0.999,
    max_weight: float = 100.0,
) -> np.ndarray:
    """Returns one weight per class, in the order of `counts`.

    Args:
      counts: train examples per class; all must be positive.
      strategy: one of CLASS_WEIGHT_STRATEGIES.
      beta: effective-number hyperparameter in [0, 1).
      max_weight: upper bound applied after normalisation.

    Raises:
      ValueError: on an unknown strategy, a non-positive count or a bad beta.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0 or (counts <= 0).any():
        raise ValueError(f"class counts must all be positive, got {counts.tolist()}")
    if strategy == "none":
        return np.ones_like(counts)
    if strategy == "balanced":
        weights = 1.0 / counts
    elif strategy == "sqrt":
        weights = 1.0 / np.sqrt(counts)
    elif strategy == "effective_number":
        if not 0 <= beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {beta!r}")
        weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    else:
        raise ValueError(
            f"class weight strategy must be one of {CLASS_WEIGHT_STRATEGIES}, got {strategy!r}"
        )
    weights *= counts.sum() / (counts * weights).sum()  # weighted example count == n
    return np.minimum(weights, max_weight)


def class_priors(counts: Sequence[float]) -> np.ndarray:
    """Class shares of the train split, for logit adjustment."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts / counts.sum()
