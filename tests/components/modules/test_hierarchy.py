"""The class -> superclass mapping as the model uses it."""

import numpy as np
import pytest

from components.modules.errors import BadInputError
from components.modules.hierarchy import Hierarchy

PARENTS = {"smurf": "dos", "neptune": "dos", "normal": "normal", "satan": "probe", "x": "probe"}


def test_superclasses_are_sorted_and_follow_the_score_order():
    hierarchy = Hierarchy.for_classes(PARENTS, ["normal", "smurf", "satan", "neptune"])
    assert hierarchy.superclasses == ("dos", "normal", "probe")
    assert hierarchy.parent_index == (1, 0, 2, 0)
    scores = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    np.testing.assert_allclose(scores @ hierarchy.membership(), [[0.6, 0.1, 0.3]])
    assert hierarchy.superclass_counts([10, 5, 2, 1]) == [6.0, 10.0, 2.0]
    assert Hierarchy.from_json(hierarchy.to_json()) == hierarchy


def test_a_class_without_superclass_is_named():
    with pytest.raises(BadInputError, match=r"no superclass for the classes \['back'\]"):
        Hierarchy.for_classes(PARENTS, ["smurf", "back"])
