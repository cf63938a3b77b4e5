"""Column names <-> safe feature keys, and the keys every module agrees on.

Raw CSV column names flow unchanged through ExampleGen, StatisticsGen and the
schema; Transform outputs use safe keys because TF op names and Keras input
names reject characters such as '/', '(' or spaces.
"""

import re
from typing import Any

from components.modules.errors import BadInputError

LABEL_KEY = "label_xf"
"""Transformed label: the class index in the label vocabulary."""

LABEL_VOCABULARY = "label"
"""Name of the Transform vocabulary file that maps class names to indices."""

LABEL_COUNTS_VOCABULARY = "label_counts"
"""Transform vocabulary of 'count class' lines over the train split: class weights."""

SUPERCLASS_VOCABULARY = "superclass_of"
"""With data.hierarchy: Transform vocabulary of 'class SUPERCLASS_SEPARATOR superclass' lines,
one per train class (superclass empty for a class the mapping lacks), so the mapping
travels in the transform graph beside the label vocabulary."""

# The ASCII unit separator, a control character that class names in practice never hold
# (one that did would be split at it).
SUPERCLASS_SEPARATOR = "\x1f"

NUMERIC_KEY = "numeric_xf"
"""Every numeric column z-scored with its train mean and variance, missing values 0:
[batch, numeric columns] in key order. One tensor rather than one per column keeps
Transform, the Trainer's reading and the serving graph flat in the number of
columns (per-column outputs made Transform quadratic in them: 2,000 columns did
not finish in 18 minutes)."""

QUANTILE_POSITIONS_KEY = "quantile_positions_xf"
"""Every numeric column's place among its train quantiles, [batch, numeric columns] in
key order: 0 at the minimum, QUANTILE_BINS at the maximum, linear within each bin. The
model expands it into a piecewise-linear encoding (Gorishniy et al. 2022), which lets
a network cut a column at a threshold the way a tree does."""

QUANTILE_BINS = 32


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
    """Maps each raw column to its safe key.

    Raises:
      BadInputError: two columns map to one key, or a column to the label's key.
    """
    keys = {column: feature_key(column) for column in columns}
    by_key: dict[str, list[str]] = {}
    for column, key in keys.items():
        by_key.setdefault(key, []).append(column)
    collisions = [
        f"{', '.join(map(repr, group))} all map to {key!r}"
        for key, group in by_key.items()
        if len(group) > 1
    ]
    if collisions:
        raise BadInputError(
            "column names collide as feature keys (TF names allow only letters, digits and _): "
            + "; ".join(collisions)
            + ". Rename all but one of each, or exclude them with data.exclude_columns"
        )
    seen = {key: group[0] for key, group in by_key.items()}
    if LABEL_KEY in seen:
        raise BadInputError(f"column {seen[LABEL_KEY]!r} clashes with the label key {LABEL_KEY!r}")
    return keys


def numeric_columns(dtypes: dict[str, Any], custom_config: dict[str, Any]) -> list[str]:
    """The raw columns in NUMERIC_KEY, in its column order (their keys' order).

    Every feature column is numeric except string columns and the int columns
    named in `categorical_columns`, which go through a vocabulary instead.

    Args:
      dtypes: raw column -> tf.DType, e.g. from the raw feature spec.
      custom_config: {'label', 'exclude_columns', 'categorical_columns'}.
    """
    skipped = {custom_config["label"], *custom_config.get("exclude_columns", [])}
    categorical = set(custom_config.get("categorical_columns", []))
    columns = [
        column
        for column, dtype in dtypes.items()
        if column not in skipped and column not in categorical and dtype.name != "string"
    ]
    return sorted(columns, key=feature_key)
