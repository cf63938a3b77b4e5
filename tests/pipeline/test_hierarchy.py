"""data.hierarchy files: the real kddcup mapping, YAML, and every malformed shape named."""

import os

import pytest

from components.modules.errors import BadInputError
from pipeline.hierarchy import check_classes, read_hierarchy
from tests.conftest import DATA

KDDCUP = os.path.join(DATA, "kddcup_hierarchy.csv")


def test_the_kddcup_file_maps_23_classes_to_the_5_categories():
    parents = read_hierarchy(KDDCUP)
    assert len(parents) == 23
    assert set(parents.values()) == {"normal", "dos", "probe", "r2l", "u2r"}
    assert parents["11"] == "normal" and parents["18"] == "dos" and parents["1"] == "u2r"


def test_yaml_mapping_with_int_classes(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("1: rock\n2: rock\nlight: other\n")
    assert read_hierarchy(str(path)) == {"1": "rock", "2": "rock", "light": "other"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("h.csv", "class,parent\na,x\na,y\n", r"gives class 'a' two superclasses, 'x' and 'y'"),
        ("h.csv", "class,parent\na,b\nb,a\n", r"maps 'a' to 'b' and 'b' to 'a': a cycle"),
        ("h.csv", "class,parent\na,b\nb,c\n", r"maps 'a' to 'b' and 'b' to 'c': three levels"),
        ("h.csv", "class\na\n", r"at least two columns: the class first, its superclass last"),
        ("h.csv", "class,parent\n", r"maps no classes"),
        ("h.csv", "class,parent\na,\n", r"every class needs a superclass; 'a' -> ''"),
        ("h.yaml", "- a\n- b\n", r"must be a YAML mapping of class: superclass"),
        ("h.yaml", "a: [b\n", r"is not valid YAML"),
    ],
)
def test_malformed_files_are_named(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(BadInputError, match=message):
        read_hierarchy(str(path))


def test_a_class_mapped_to_itself_is_two_levels(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("class,parent\nnormal,normal\nsmurf,dos\n")
    assert read_hierarchy(str(path)) == {"normal": "normal", "smurf": "dos"}


def test_a_missing_file_and_classes_without_superclass_are_named(tmp_path):
    with pytest.raises(BadInputError, match=r"does not exist; fix data.hierarchy"):
        read_hierarchy(str(tmp_path / "nope.csv"))
    with pytest.raises(BadInputError, match=r"no superclass for the classes \['23', '24'\]"):
        check_classes(read_hierarchy(KDDCUP), {"0", "23", "24"}, KDDCUP)
