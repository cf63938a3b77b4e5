"""Reads `data.hierarchy`: which superclass each class belongs to, from a CSV or YAML file.

A CSV file has a header row; its first column is the class, its last the
superclass (so data/kddcup_hierarchy.csv, class,attack,category, maps each
class to its category). A YAML file is a mapping {class: superclass}. The
mapping is read when the pipeline is built and travels to Transform in its
custom_config, like every other setting, so the workers never open the file;
Transform records it in the transform graph for the Trainer and Tuner.
"""

import csv
import io
import os

import yaml
from apache_beam.io.filesystems import FileSystems

from components.modules.errors import BadInputError

YAML_SUFFIXES = (".yaml", ".yml")


def read_hierarchy(path: str) -> dict[str, str]:
    """{class: superclass}, checked: one superclass per class, two levels, no cycles.

    Raises:
      BadInputError: the file is missing, unreadable or not such a mapping.
    """
    if not FileSystems.exists(path):
        raise BadInputError(f"data.hierarchy file {path!r} does not exist; fix data.hierarchy")
    with FileSystems.open(path) as f:
        text = f.read().decode("utf-8-sig")
    pairs = _yaml_pairs(path, text) if path.endswith(YAML_SUFFIXES) else _csv_pairs(path, text)
    parents: dict[str, str] = {}
    for cls, parent in pairs:
        if not cls or not parent:
            raise BadInputError(f"{path}: every class needs a superclass; {cls!r} -> {parent!r}")
        if parents.setdefault(cls, parent) != parent:
            raise BadInputError(
                f"{path} gives class {cls!r} two superclasses, {parents[cls]!r} and {parent!r}; "
                "keep one"
            )
    if not parents:
        raise BadInputError(f"{path} maps no classes; see README, 'Hierarchical labels'")
    for cls, parent in parents.items():
        grandparent = parents.get(parent, parent)
        if grandparent != parent:
            shape = "a cycle" if grandparent == cls else "three levels"
            raise BadInputError(
                f"{path} maps {cls!r} to {parent!r} and {parent!r} to {grandparent!r}: {shape}; "
                "data.hierarchy takes two levels, class -> superclass"
            )
    return parents


def _csv_pairs(path: str, text: str) -> list[tuple[str, str]]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows or len(rows[0]) < 2:
        raise BadInputError(
            f"{path} must be a CSV file with a header and at least two columns: "
            "the class first, its superclass last"
        )
    return [(row[0].strip(), row[-1].strip()) for row in rows[1:]]


def _yaml_pairs(path: str, text: str) -> list[tuple[str, str]]:
    try:
        mapping = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BadInputError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(mapping, dict):
        raise BadInputError(f"{path} must be a YAML mapping of class: superclass")
    return [(str(cls).strip(), str(parent).strip()) for cls, parent in mapping.items()]


def check_classes(parents: dict[str, str], classes: set[str], path: str) -> None:
    """Every label value of the data has a superclass; raises BadInputError naming those without."""
    missing = sorted(classes - set(parents))
    if missing:
        raise BadInputError(
            f"data.hierarchy {os.path.basename(path)} gives no superclass for the classes "
            f"{missing}; add a row for each"
        )
