"""Per-class ROC-AUC and PR-AUC from score counts, against scikit-learn on real data."""

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from components.evaluator import score_histograms
from components.evaluator.score_histograms import (
    ScoreHistograms,
    average_precision,
    pr_curve,
    roc_auc,
    score_keys,
)
from tests.conftest import DATA


@pytest.fixture(scope="module")
def satimage_scores():
    """Float32 class probabilities of a real model on satimage's held-out fifth (1,287 rows)."""
    frame = pd.read_csv(os.path.join(DATA, "satimage.csv.gz"))
    labels = pd.factorize(frame.pop("class"), sort=True)[0]
    fit_x, test_x, fit_y, test_y = train_test_split(
        frame.to_numpy(), labels, test_size=0.2, stratify=labels, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(fit_x, fit_y)
    return test_y, model.predict_proba(test_x).astype(np.float32)


def _histograms(labels, scores, weights=None) -> ScoreHistograms:
    histograms = ScoreHistograms(scores.shape[1])
    for i, (label, row) in enumerate(zip(labels, scores, strict=True)):
        histograms.add(int(label), row, 1.0 if weights is None else float(weights[i]))
    return histograms


def _worst_gap(histograms, labels, scores, weights=None) -> float:
    gaps = []
    for k in range(scores.shape[1]):
        counts = histograms.class_counts(k)
        positive = labels == k
        gaps.append(
            abs(roc_auc(*counts) - roc_auc_score(positive, scores[:, k], sample_weight=weights))
        )
        gaps.append(
            abs(
                average_precision(*counts)
                - average_precision_score(positive, scores[:, k], sample_weight=weights)
            )
        )
    return max(gaps)


def test_aucs_equal_scikit_learn_on_real_scores(satimage_scores):
    labels, scores = satimage_scores
    assert _worst_gap(_histograms(labels, scores), labels, scores) < 1e-9


def test_example_weights_count_like_sample_weight(satimage_scores):
    labels, scores = satimage_scores
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(labels))
    assert _worst_gap(_histograms(labels, scores, weights), labels, scores, weights) < 1e-9


def test_merged_halves_count_like_one_pass(satimage_scores):
    labels, scores = satimage_scores
    whole = _histograms(labels, scores)
    whole.flush()
    half = len(labels) // 2
    merged = _histograms(labels[:half], scores[:half]).merge(
        _histograms(labels[half:], scores[half:])
    )
    np.testing.assert_array_equal(merged.keys, whole.keys)
    np.testing.assert_array_equal(merged.counts, whole.counts)


def test_a_capped_histogram_stays_bounded_and_within_1e_3(monkeypatch):
    """FARS's held-out fifth: 20,194 rows x 8 classes, 127,000 distinct keys, 4x the cap."""
    frame = pd.read_csv(os.path.join(DATA, "fars.csv.gz"))
    labels = pd.factorize(frame.pop("target"), sort=True)[0]
    numbers = frame.select_dtypes("number").fillna(0).to_numpy()
    fit_x, test_x, fit_y, test_y = train_test_split(
        numbers, labels, test_size=0.2, stratify=labels, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=100)).fit(fit_x, fit_y)
    scores = model.predict_proba(test_x).astype(np.float32)
    monkeypatch.setattr(score_histograms, "MAX_KEYS", 1 << 15)
    half = len(test_y) // 2
    merged = _histograms(test_y[:half], scores[:half]).merge(
        _histograms(test_y[half:], scores[half:])
    )
    assert merged.shift > 0 and len(merged.keys) <= 1 << 15
    assert _worst_gap(merged, test_y, scores) < 1e-3


def test_score_keys_order_scores_with_float32_precision_at_both_ends():
    near_one = np.nextafter(np.float32(1.0), np.float32(0.0))
    scores = np.array(
        [0.0, 1e-45, 1e-30, 1e-7, 0.3, np.nextafter(np.float32(0.5), np.float32(0)), 0.5]
        + [0.7, 0.9999, near_one, 1.0],
        np.float32,
    )
    keys = score_keys(scores)
    assert (np.diff(keys) > 0).all()


def test_an_example_of_no_class_is_a_negative_for_every_class():
    histograms = ScoreHistograms(2)
    histograms.add(0, np.array([0.9, 0.1]))
    histograms.add(-1, np.array([0.2, 0.8]))
    positives, negatives = histograms.class_counts(1)
    assert positives.sum() == 0 and negatives.sum() == 2
    assert np.isnan(roc_auc(positives, negatives))
    assert np.isnan(average_precision(positives, negatives))
    assert roc_auc(*histograms.class_counts(0)) == 1.0


def test_curves_match_scikit_learn_and_are_thinned_for_drawing(satimage_scores):
    labels, scores = satimage_scores
    histograms = _histograms(labels, scores)
    positives, negatives = histograms.class_counts(3)
    points = score_histograms.roc_curve(positives, negatives)
    false_positive, true_positive, _ = roc_curve(labels == 3, scores[:, 3], drop_intermediate=False)
    assert len(points) == score_histograms.CURVE_POINTS < len(false_positive)
    np.testing.assert_allclose(points[[0, -1]], [[0, 0], [1, 1]])
    assert (np.diff(points, axis=0) >= 0).all()  # both rates only grow
    pr = pr_curve(positives, negatives)
    assert pr[-1, 0] == 1.0 and pr[-1, 1] == pytest.approx((labels == 3).mean())
