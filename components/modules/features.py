"""Column names <-> safe feature keys, and the keys every module agrees on.

Raw CSV column names flow unchanged through ExampleGen, StatisticsGen and the
schema; Transform outputs use safe keys because TF op names and Keras input
names reject characters such as '/', '(' or spaces.
"""

import re

LABEL_KEY = "label_xf"
"""Transformed label: the class index in the label vocabulary."""

LABEL_VOCABULARY = "label"
"""Name of the Transform vocabulary file that maps class names to indices."""

LABEL_COUNTS_VOCABULARY = "label_counts"
"""Transform vocabulary of 'count class' lines over the train split: class weights."""

TRAINING_SUMMARY_FILE = "assets.extra/training.json"
"""Class counts, class weights, loss and hyperparameters the model was trained with."""

CLASS_NAMES_FILE = "assets.extra/class_names.json"
"""Class names in score order, written beside every exported SavedModel."""

SCHEMA_FILE = "assets.extra/schema.pbtxt"
"""The schema the model was trained with; the next run's DataGate checks new data against it."""


def feature_key(column: str) -> str:
    """Returns a key safe for TF and Keras names for a raw column name.

    'AIR_BAG_AVAILABILITY/DEPLOYMENT' -> 'AIR_BAG_AVAILABILITY_DEPLOYMENT_xf'.
    The '_xf' suffix keeps keys distinct from raw names and from LABEL_KEY.
    """
    key = re.sub(r"[^A-Za-z0-9_]", "_", column.strip())
    if not key or not key[0].isalpha():
        key = "f_" + key
    return key + "_xf"


def feature_keys(columns: list[str]) -> dict[str, str]:
    """Maps each raw column to its safe key; raises if two columns collide."""
    keys = {column: feature_key(column) for column in columns}
    seen: dict[str, str] = {}
    for column, key in keys.items():
        if key in seen:
            raise ValueError(
                f"columns {seen[key]!r} and {column!r} both map to feature key {key!r}; "
                "rename one of them or exclude it with data.exclude_columns"
            )
        seen[key] = column
    if LABEL_KEY in seen:
        raise ValueError(f"column {seen[LABEL_KEY]!r} clashes with the label key {LABEL_KEY!r}")
    return keys
