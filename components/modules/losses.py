"""Imbalance-aware Keras 3 losses over logits, with per-class weights built in.

The weights live inside the loss, not in `fit(class_weight=...)`, so they also
apply in every KerasTuner trial (tuners silently drop fit-time class weights).
Note that `model.compile(loss_weights=...)` weights model outputs, not classes.

- cross_entropy: w[y] * CE(logits, y).
- focal: w[y] * (1 - p_y) ** gamma * CE (Lin et al. 2017) with per-class alpha
  = w; Keras' own CategoricalFocalCrossentropy takes only a scalar alpha.
- logit_adjusted: w[y] * CE(logits + tau * log(prior), y) (Menon et al., ICLR
  2021); the raw logits are then the balanced classifier.
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
        name: str | None = None,
    ):
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
        return per_example * weights
