"""The learning-curve diagnosis: each rule on curves made to show it."""

import pytest

from pipeline.learning_curves import diagnose
from tests.pipeline.outcomes import OVERFITTING, STILL_IMPROVING


def _curves(train, validation, val_loss=None):
    val_loss = val_loss or [1.0 - v / 2 for v in validation]
    return {"macro_f1": train, "val_macro_f1": validation, "loss": val_loss, "val_loss": val_loss}


def test_a_train_validation_gap_is_overfitting_from_where_it_opens():
    text = diagnose(OVERFITTING, "mlp")
    assert text.startswith("train macro-F1 0.95, validation 0.72 at the best epoch (4 of 6)")
    assert "the gap passes 0.1 from epoch 3 on: the model overfits" in text
    assert "training.dropout, l1, l2" in text


def test_a_rising_validation_loss_is_overfitting_in_the_probabilities():
    curves = _curves([0.8, 0.85, 0.86, 0.86], [0.8, 0.84, 0.85, 0.85], [0.5, 0.4, 0.45, 0.5])
    text = diagnose(curves, "gbt")
    assert "the validation loss ends 25% above its lowest (round 2)" in text
    assert "gbt_max_leaf_nodes" in text


def test_a_best_last_step_may_underfit():
    text = diagnose(STILL_IMPROVING, "gbt")
    assert "at the best round (4 of 4): still improving at the last round" in text
    assert "raise training.gbt_max_iterations" in text


def test_low_train_and_validation_scores_underfit():
    text = diagnose(_curves([0.3, 0.35, 0.35], [0.3, 0.34, 0.33]), "mlp")
    assert "both low, so the model underfits" in text and "hidden_units" in text


@pytest.mark.parametrize("family", ["mlp", "gbt"])
def test_close_and_settled_curves_are_neither(family):
    text = diagnose(_curves([0.8, 0.9, 0.91, 0.91], [0.78, 0.86, 0.88, 0.87]), family)
    assert text.endswith("no sign of over- or underfitting.")
