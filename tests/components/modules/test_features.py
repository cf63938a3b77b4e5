"""Raw column names -> feature keys that TF ops and Keras inputs accept."""

import re

import keras
import pytest
import tensorflow as tf

from components.modules.errors import BadInputError
from components.modules.features import LABEL_KEY, feature_key, feature_keys, numeric_columns

FARS_COLUMNS = [
    "AIR_BAG_AVAILABILITY/DEPLOYMENT",
    "RESTRAINT_SYSTEM-USE",
    "DRUG_TEST_RESULTS_(1_of_3)",
    "RELATED_FACTOR_(1)-PERSON_LEVEL",
    "body mass (g)",
    "2nd reading",
]


@pytest.mark.parametrize("column", FARS_COLUMNS)
def test_keys_are_valid_keras_input_names(column):
    key = feature_key(column)
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key)
    keras.Input(shape=(1,), name=key)  # Keras 3 rejects '/' in names


def test_keys_are_stable_and_readable():
    assert feature_key("AIR_BAG_AVAILABILITY/DEPLOYMENT") == "AIR_BAG_AVAILABILITY_DEPLOYMENT_xf"
    assert feature_key("2nd reading") == "f_2nd_reading_xf"


def test_every_colliding_column_is_reported():
    with pytest.raises(BadInputError) as error:
        feature_keys(["a/b", "x", "a-b", "c d", "a b", "c_d"])
    assert "'a/b', 'a-b', 'a b' all map to 'a_b_xf'; 'c d', 'c_d' all map to 'c_d_xf'" in str(
        error.value
    )


def test_a_feature_may_not_take_the_label_key():
    with pytest.raises(BadInputError, match="clashes with the label key"):
        feature_keys(["label"])
    assert LABEL_KEY == feature_key("label")


def test_numeric_columns_are_the_non_string_features_in_key_order():
    dtypes = {
        "b/2": tf.float32,  # key b_2_xf
        "b": tf.int64,  # key b_xf, after b_2_xf
        "a": tf.int64,
        "name": tf.string,
        "code": tf.int64,  # named categorical
        "id": tf.int64,  # excluded
        "y": tf.int64,  # the label
    }
    config = {"label": "y", "exclude_columns": ["id"], "categorical_columns": ["code"]}
    assert numeric_columns(dtypes, config) == ["a", "b/2", "b"]
