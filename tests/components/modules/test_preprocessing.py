"""preprocessing_fn on a tiny in-memory data set through real tf.Transform."""

import functools
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from components.modules.errors import BadInputError
from components.modules.features import NUMERIC_KEY, QUANTILE_BINS, QUANTILE_POSITIONS_KEY
from components.modules.preprocessing import MISSING_CATEGORY, preprocessing_fn, quantile_positions
from components.modules.training import TrainingData, read_superclasses

FEATURE_SPEC = {
    "speed/kmh": tf.io.VarLenFeature(tf.float32),  # optional: may be missing
    "color": tf.io.VarLenFeature(tf.string),
    "code": tf.io.FixedLenFeature([1], tf.int64),  # int-coded category
    "count": tf.io.FixedLenFeature([1], tf.int64),  # numeric, never missing
    "flat": tf.io.FixedLenFeature([1], tf.float32),  # numeric, one value
    "id": tf.io.FixedLenFeature([1], tf.int64),  # excluded
    "target": tf.io.FixedLenFeature([1], tf.int64),
}
ROWS = [
    {
        "speed/kmh": [1.0],
        "color": ["dark\nred"],  # a quoted CSV cell with a line break
        "code": [3],
        "count": [4],
        "flat": [5.0],
        "id": [10],
        "target": [2],
    },
    {
        "speed/kmh": [],
        "color": [],
        "code": [3],
        "count": [0],
        "flat": [5.0],
        "id": [11],
        "target": [2],
    },
    {
        "speed/kmh": [3.0],
        "color": ["dark red"],
        "code": [5],
        "count": [2],
        "flat": [5.0],
        "id": [12],
        "target": [7],
    },
]
CUSTOM_CONFIG = {
    "label": "target",
    "exclude_columns": ["id"],
    "categorical_columns": ["code"],
    "quantile_positions": True,
}
_COLLECTED: list[dict] = []


def _collect(row: Any) -> None:
    """Module-level, so Beam pickles it by reference and fills this module's list."""
    _COLLECTED.append(row)


def _analyze_and_transform(tmp_path_factory, custom_config: dict) -> tuple[list[dict], str]:
    """Runs analyze-and-transform on ROWS; returns (rows, transform output dir)."""
    _COLLECTED.clear()
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(FEATURE_SPEC))
    output_dir = str(tmp_path_factory.mktemp("transform"))
    with beam.Pipeline(runner="FnApiRunner") as pipeline:
        with tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tmp"))):
            raw = pipeline | beam.Create(ROWS, reshuffle=False)
            (rows, _), transform_fn = (raw, metadata) | tft_beam.AnalyzeAndTransformDataset(
                functools.partial(preprocessing_fn, custom_config=custom_config)
            )
            _ = rows | beam.Map(_collect)
            _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    return list(_COLLECTED), output_dir


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    return _analyze_and_transform(tmp_path_factory, CUSTOM_CONFIG)


def test_outputs_use_safe_keys_and_skip_label_and_excluded_columns(transformed):
    rows, _ = transformed
    assert set(rows[0]) == {"color_xf", "code_xf", "label_xf", NUMERIC_KEY, QUANTILE_POSITIONS_KEY}


def test_without_the_piecewise_linear_encoding_there_are_no_quantile_positions(
    transformed, tmp_path_factory
):
    rows, _ = _analyze_and_transform(
        tmp_path_factory, {**CUSTOM_CONFIG, "quantile_positions": False}
    )
    assert set(rows[0]) == {"color_xf", "code_xf", "label_xf", NUMERIC_KEY}
    np.testing.assert_allclose(_numeric(rows), _numeric(transformed[0]))  # the same z-scores


def _numeric(rows: list[dict]) -> np.ndarray:
    """[rows, columns]: count_xf, flat_xf, speed_kmh_xf, the numeric columns in key order."""
    return np.array([np.ravel(row[NUMERIC_KEY]) for row in rows])


def test_quantile_positions_order_each_numeric_column_from_0_to_the_bins(transformed):
    """Columns in key order: count_xf, flat_xf, speed_kmh_xf; values 4/0/2, 5/5/5, 1/-/3."""
    rows, _ = transformed
    positions = np.array([np.ravel(row[QUANTILE_POSITIONS_KEY]) for row in rows])
    assert positions.shape == (3, 3)
    assert (positions >= 0).all() and (positions <= QUANTILE_BINS).all()
    count, flat, speed = positions.T
    # With three rows, most of the 31 inner edges repeat a value; a value at or above an
    # edge has that bin fully on, as in the piecewise-linear encoding.
    assert count[1] < count[2] < count[0] == QUANTILE_BINS  # the train maximum: every bin on
    assert speed[0] < speed[1] < speed[2] == QUANTILE_BINS  # missing: the mean, in between
    assert len(set(flat)) == 1  # one value: one position


def test_a_position_is_the_bin_plus_the_fraction_of_the_bin():
    values = tf.constant([[0.0, 5.0], [0.5, 1.0], [1.0, 1.0], [3.0, 1.0], [9.0, -1.0]])
    inner = tf.constant([[1.0, 2.0], [1.0, 1.0]])  # column 1: repeated edges (a discrete column)
    positions = quantile_positions(values, inner, tf.constant([0.0, 1.0]), tf.constant([3.0, 5.0]))
    np.testing.assert_allclose(
        positions.numpy(), [[0, 3], [0.5, 2], [1, 2], [3, 2], [3, 0]], atol=1e-6
    )  # outside the train range: clipped to 0 or the number of bins


def test_numeric_values_are_z_scored_by_the_present_values_and_missing_is_the_mean(transformed):
    rows, _ = transformed
    speeds = _numeric(rows)[:, 2]
    # Present values 1 and 3: mean 2, standard deviation 1; missing -> the mean -> 0.
    np.testing.assert_allclose(speeds, [-1.0, 0.0, 1.0], atol=1e-6)


def test_each_numeric_column_has_its_own_mean_and_variance(transformed):
    rows, _ = transformed
    counts, flats, _ = _numeric(rows).T
    # 4, 0, 2: mean 2, population standard deviation sqrt(8/3).
    np.testing.assert_allclose(counts, np.array([2.0, -2.0, 0.0]) / np.sqrt(8 / 3), atol=1e-6)
    assert flats.tolist() == [0.0, 0.0, 0.0]  # no spread: centred, not divided by 0


def test_label_and_categories_are_vocabulary_indices_by_frequency(transformed):
    rows, output_dir = transformed
    assert [int(np.ravel(row["label_xf"])[0]) for row in rows] == [0, 0, 1]
    assert [int(np.ravel(row["code_xf"])[0]) for row in rows] == [0, 0, 1]
    output = tft.TFTransformOutput(output_dir)
    assert output.vocabulary_by_name("label") == [b"2", b"7"]
    assert set(output.vocabulary_by_name("color_xf")) == {b"dark red", MISSING_CATEGORY.encode()}


def test_line_breaks_in_text_values_become_spaces_not_out_of_vocabulary(transformed):
    rows, output_dir = transformed
    colors = [int(np.ravel(row["color_xf"])[0]) for row in rows]
    vocabulary = tft.TFTransformOutput(output_dir).vocabulary_by_name("color_xf")
    assert colors[0] == colors[2] == vocabulary.index(b"dark red")
    serving = tft.TFTransformOutput(output_dir).transform_raw_features(
        {"color": tf.sparse.from_dense(tf.constant([["dark\r\nred"]]))}, drop_unused_features=True
    )
    assert int(np.ravel(serving["color_xf"])[0]) == colors[0]


def test_without_a_hierarchy_the_graph_records_no_superclasses(transformed):
    _, output_dir = transformed
    assert read_superclasses(tft.TFTransformOutput(output_dir)) is None


def test_the_hierarchy_travels_in_the_graph_and_a_class_without_superclass_is_named(
    tmp_path_factory,
):
    hierarchy = {"2": "even", "4": "even", "9": "odd"}  # 7 is missing; 4 and 9 are not data
    rows, output_dir = _analyze_and_transform(
        tmp_path_factory, {**CUSTOM_CONFIG, "hierarchy": hierarchy}
    )
    assert "superclass_of" not in rows[0]  # a vocabulary, not a feature
    output = tft.TFTransformOutput(output_dir)
    assert read_superclasses(output) == {"2": "even"}  # the train classes only
    with pytest.raises(BadInputError, match=r"no superclass for the classes \['7'\]"):
        TrainingData.load(output)
    hierarchy["7"] = "odd"
    _, output_dir = _analyze_and_transform(
        tmp_path_factory, {**CUSTOM_CONFIG, "hierarchy": hierarchy}
    )
    data = TrainingData.load(tft.TFTransformOutput(output_dir))
    assert data.class_names == ["2", "7"]
    assert data.hierarchy.superclasses == ("even", "odd")
    assert data.hierarchy.parent_index == (0, 1)
