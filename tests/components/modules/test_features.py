"""Raw column names -> feature keys that TF ops and Keras inputs accept."""

import re

import keras
import pytest

from components.modules.errors import BadInputError
from components.modules.features import LABEL_KEY, feature_key, feature_keys

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


def test_colliding_columns_are_reported():
    with pytest.raises(BadInputError, match="'a/b' and 'a-b' both map"):
        feature_keys(["a/b", "a-b"])


def test_a_feature_may_not_take_the_label_key():
    with pytest.raises(BadInputError, match="clashes with the label key"):
        feature_keys(["label"])
    assert LABEL_KEY == feature_key("label")
