"""Imbalance-aware Keras 3 losses over logits, with per-class weights built in.

The weights live inside the loss, not in `fit(class_weight=...)`, so they also
apply in every KerasTuner trial (tuners silently drop fit-time class weights).
Note that `model.compile(loss_weights=...)` weights model outputs, not classes.

- cross_entropy: w[y] * CE(logits, y).
- focal: w[y] * (1 - p_y) ** gamma * CE (Lin et al. 2017) with per-class alpha
  = w; Keras' own CategoricalFocalCrossentropy takes only a scalar alpha.
- logit_adjusted: w[y] * CE(logits + tau * log(prior), y) (Menon et al., ICLR
  2021); the raw logits are then the balanced classifier.

With a class hierarchy, any of them adds lambda * v[S] * -log p(S), where p(S)
is the summed probability of the true class's superclass S and v the
superclass weights. A mistake inside the right superclass then costs less than
one across superclasses. Without superclass weights, the term takes each
example's class weight w[y]; then, for cross_entropy,
w[y] * (-log p(y) - lambda * log p(S)) = w[y] * (-log p(y|S) - (1 + lambda) * log p(S))
is the two-level hierarchical cross-entropy (HXE) of Bertinetto et al. 2020
("Making Better Mistakes"): edge weights exp(-alpha * depth) as in their code,
up to a constant factor, with alpha = ln(1 + lambda).
"""

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from components.modules.choices import LOSSES


class ImbalanceLoss(keras.losses.Loss):
    """One of LOSSES, weighted per class; y_true holds class indices."""

    def __init__(
        self,
        kind: str,
        class_weights: Sequence[float],
        priors: Sequence[float] | None = None,
        focal_gamma: float = 2.0,
        logit_tau: float = 1.0,
        parent_index: Sequence[int] | None = None,
        superclass_weights: Sequence[float] | None = None,
        superclass_loss_weight: float = 0.0,
        name: str | None = None,
    ):
        """parent_index: each class's superclass; superclass_loss_weight: lambda (0: flat);
        superclass_weights: v, one per superclass, or None for each example's class weight."""
        if kind not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
        if kind == "logit_adjusted" and priors is None:
            raise ValueError("the logit_adjusted loss needs the class priors")
        super().__init__(name=name or kind)
        self.kind = kind
        self.class_weights = [float(w) for w in class_weights]
        self.log_priors = None if priors is None else np.log(np.asarray(priors, "float32"))
        self.focal_gamma = focal_gamma
        self.logit_tau = logit_tau
        self.superclass_loss_weight = superclass_loss_weight if parent_index is not None else 0.0
        if self.superclass_loss_weight:
            self.parent_index = [int(i) for i in parent_index]
            self.superclass_weights = (
                None if superclass_weights is None else [float(w) for w in superclass_weights]
            )
            # log of the [classes, superclasses] membership: 0 for a member, very low otherwise
            member = np.eye(max(self.parent_index) + 1, dtype="float32")[self.parent_index]
            self.log_membership = np.where(member > 0, 0.0, -1e9).astype("float32")

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        logits = ops.cast(y_pred, "float32")
        if self.kind == "logit_adjusted":
            logits = logits + self.logit_tau * ops.convert_to_tensor(self.log_priors)
        log_probs = ops.log_softmax(logits, axis=-1)
        log_p_true = ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1)[:, 0]
        per_example = -log_p_true
        if self.kind == "focal":
            per_example = per_example * ops.power(1.0 - ops.exp(log_p_true), self.focal_gamma)
        weights = ops.take(ops.convert_to_tensor(self.class_weights, "float32"), labels)
        per_example = per_example * weights
        if self.superclass_loss_weight:
            per_example = per_example + self.superclass_loss_weight * self._superclass_term(
                log_probs, labels, weights
            )
        return per_example

    def _superclass_term(self, log_probs, labels, class_weights):
        """v[S] * -log p(S) of the true class's superclass S, p(S) the sum over its classes.

        class_weights: each example's class weight, taken instead of v without superclass weights.
        """
        superclass_log_probs = ops.logsumexp(
            ops.expand_dims(log_probs, -1) + ops.convert_to_tensor(self.log_membership), axis=1
        )
        parents = ops.take(ops.convert_to_tensor(self.parent_index, "int32"), labels)
        log_p_parent = ops.take_along_axis(
            superclass_log_probs, ops.expand_dims(parents, -1), axis=-1
        )[:, 0]
        if self.superclass_weights is None:
            return -log_p_parent * class_weights
        weights = ops.take(ops.convert_to_tensor(self.superclass_weights, "float32"), parents)
        return -log_p_parent * weights
