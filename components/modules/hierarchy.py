"""Two-level labels: every class has one parent, its superclass.

The mapping comes from `data.hierarchy` (pipeline.hierarchy reads the file) as
{class: superclass}; Transform records it for the train classes in the transform
graph (preprocessing), beside the label vocabulary. The Trainer reads it there, trains
with it (components.modules.losses) and ships it with the model
(assets.HIERARCHY_FILE), so serving and the Evaluator use the model's own
mapping: a superclass's score is the sum of its classes' scores, and a
prediction's superclass is the predicted class's parent.
"""

import dataclasses

import numpy as np

from components.modules.errors import BadInputError


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """Superclass names (sorted) and each class's superclass index, in score order."""

    superclasses: tuple[str, ...]
    parent_index: tuple[int, ...]

    @classmethod
    def for_classes(cls, parents: dict[str, str], class_names: list[str]) -> "Hierarchy":
        """The mapping restricted to the model's classes.

        Raises:
          BadInputError: a class has no superclass in the mapping.
        """
        missing = [name for name in class_names if name not in parents]
        if missing:
            raise BadInputError(
                f"data.hierarchy gives no superclass for the classes {missing}; "
                "add a row for each of them to the hierarchy file"
            )
        superclasses = tuple(sorted({parents[name] for name in class_names}))
        index = {name: i for i, name in enumerate(superclasses)}
        return cls(superclasses, tuple(index[parents[name]] for name in class_names))

    def membership(self) -> np.ndarray:
        """[classes, superclasses] 0/1 matrix: scores @ membership are superclass scores."""
        matrix = np.zeros((len(self.parent_index), len(self.superclasses)), np.float32)
        matrix[np.arange(len(self.parent_index)), self.parent_index] = 1.0
        return matrix

    def superclass_counts(self, class_counts: list[float]) -> list[float]:
        """Rows per superclass from rows per class."""
        return (np.asarray(class_counts, np.float64) @ self.membership()).tolist()

    def to_json(self) -> dict:
        return {"superclasses": list(self.superclasses), "parent_index": list(self.parent_index)}

    @classmethod
    def from_json(cls, value: dict) -> "Hierarchy":
        return cls(tuple(value["superclasses"]), tuple(value["parent_index"]))
