"""Class-skew analysis: exact counts from real statistics, measures and flags."""

import math
import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from components.class_skew.analysis import (
    analyze,
    format_summary,
    label_counts,
    label_text,
    statistics_schema,
)
from components.modules.errors import BadInputError
from pipeline.config import ClassSkewConfig
from tests.conftest import DATA

CHECKS = ClassSkewConfig().model_dump()


def _statistics(frame: pd.DataFrame, label: str):
    options = tfdv.StatsOptions(schema=statistics_schema(label))
    return tfdv.generate_statistics_from_dataframe(frame, options).datasets[0]


@pytest.mark.parametrize(
    ("file", "label"), [("shuttle.csv.gz", "target"), ("satimage.csv.gz", "class")]
)
def test_int_label_counts_are_exact(file, label):
    frame = pd.read_csv(os.path.join(DATA, file))
    counts, missing = label_counts(_statistics(frame, label), label)
    expected = {str(k): v for k, v in frame[label].value_counts().items()}
    assert counts == expected
    assert missing == 0


def test_string_label_counts_and_missing_labels_are_exact(penguins_csv):
    frame = pd.read_csv(penguins_csv)
    frame.loc[:4, "species"] = None  # five rows lose their label
    counts, missing = label_counts(_statistics(frame, "species"), "species")
    assert counts == frame["species"].value_counts().to_dict()
    assert missing == 5


def test_float_labels_are_bad_input():
    frame = pd.DataFrame({"x": [1.0, 2.0], "target": [1.0, 2.0]})
    statistics = tfdv.generate_statistics_from_dataframe(frame).datasets[0]
    with pytest.raises(BadInputError, match=r"write classes as integers \(1, not 1.0\)"):
        label_counts(statistics, "target")


def test_measures_and_flags():
    counts = {
        "train": {"a": 900, "b": 90, "c": 10},
        "eval": {"a": 240, "b": 10},  # 'c' missing, shares drift
    }
    report = analyze(counts, {"train": 0, "eval": 2}, CHECKS)
    assert report["classes"] == ["a", "b", "c"]
    train = report["splits"]["train"]
    assert train["imbalance_ratio"] == 90.0
    shares = [0.9, 0.09, 0.01]
    entropy = -sum(p * math.log(p) for p in shares) / math.log(3)
    assert train["normalized_entropy"] == pytest.approx(entropy)
    assert report["divergence"]["l_infinity"] == pytest.approx(0.06)
    assert 0 < report["divergence"]["jensen_shannon"] < 1
    flagged = {(f["check"], f["split"], f["class"], f["action"]) for f in report["flags"]}
    assert ("missing_class", "eval", "c", "gate") in flagged
    assert ("missing_label", "eval", None, "gate") in flagged
    assert ("max_imbalance_ratio", "train", None, "warn") in flagged
    assert ("max_label_divergence", "train/eval", None, "warn") in flagged
    assert ("min_class_count", "train", "c", "warn") not in flagged  # 10 is not < 10
    assert "GATE: eval: class 'c' has no examples" in format_summary(report)


def test_checks_can_be_switched_off():
    checks = {**CHECKS, "missing_class": {"threshold": 0, "action": "off"}}
    report = analyze({"train": {"a": 5, "b": 5}, "eval": {"a": 5}}, {}, checks)
    assert not [f for f in report["flags"] if f["check"] == "missing_class"]


def test_balanced_classes_raise_no_flags():
    counts = {"train": {"a": 500, "b": 500}, "eval": {"a": 100, "b": 100}}
    report = analyze(counts, {}, CHECKS)
    assert report["flags"] == []
    assert report["splits"]["train"]["normalized_entropy"] == pytest.approx(1.0)


def test_statistics_schema_marks_the_label_categorical_in_a_curated_schema():
    curated = schema_pb2.Schema()
    curated.feature.add(name="x", type=schema_pb2.FLOAT)
    curated.feature.add(name="target", type=schema_pb2.INT)
    curated.feature.add(name="species", type=schema_pb2.BYTES)
    marked = statistics_schema("target", curated)
    assert [f.name for f in marked.feature] == ["x", "target", "species"]
    assert marked.feature[1].int_domain.is_categorical
    assert not curated.feature[1].int_domain.is_categorical  # the input is not modified
    assert statistics_schema("species", curated).feature[2].type == schema_pb2.BYTES


def test_labels_equal_but_for_case_or_spaces_are_flagged_and_shown_quoted():
    counts = {"train": {"a": 9, "a ": 5, "A": 3, "b": 8}, "eval": {"a": 3, "a ": 2, "A": 1, "b": 2}}
    report = analyze(counts, {}, CHECKS)
    (flag,) = [flag for flag in report["flags"] if flag["check"] == "similar_labels"]
    assert flag["action"] == "warn" and flag["split"] == "all" and flag["value"] == 3
    assert "labels 'a', 'a ', 'A' differ only by case or surrounding spaces" in flag["message"]
    rows = format_summary(report).splitlines()
    assert [row.split("  ")[0] for row in rows[1:5]] == ["a", "b", "'a '", "A"]
    off = {**CHECKS, "similar_labels": {"threshold": 0, "action": "off"}}
    assert not [f for f in analyze(counts, {}, off)["flags"] if f["check"] == "similar_labels"]


def test_label_text_quotes_only_labels_that_could_be_misread():
    assert [label_text(name) for name in ["a", "A b", "a ", " a", "", "a\tb", "é"]] == [
        "a",
        "A b",
        "'a '",
        "' a'",
        "''",
        "'a\\tb'",
        "é",
    ]


def test_a_class_named_like_a_missing_value_is_flagged():
    report = analyze(
        {"train": {"a": 9, "NA": 4, "b": 8}, "eval": {"a": 3, "NA": 1, "b": 2}}, {}, CHECKS
    )
    (flag,) = [flag for flag in report["flags"] if flag["check"] == "marker_labels"]
    assert flag["class"] == "NA" and "data.missing_values" in flag["message"]
