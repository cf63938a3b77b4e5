"""The pre-flight check of the data location and its columns."""

import gzip
import os

import pytest

from components.modules.errors import BadInputError
from pipeline.config import load_config
from pipeline.preflight import input_location, preflight


def _config(path, label="target", *overrides, output=None):
    output = str(output or os.path.join(os.path.dirname(path), "out"))
    return load_config(
        None, list(overrides), data__path=str(path), data__label=label, pipeline__output=output
    )


def test_reads_the_header_of_a_gzipped_file(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write('"AIR_BAG/DEPLOYMENT","a,b",target\n1,2,3\n1,2,4\n')
    assert preflight(_config(path)) == ["AIR_BAG/DEPLOYMENT", "a,b", "target"]


def test_a_file_and_a_folder_map_to_example_gen_patterns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,target\n1,2\n1,3\n")
    assert input_location(str(path)) == (str(tmp_path), "d.csv")
    assert input_location(str(tmp_path)) == (str(tmp_path), "*.csv*")
    assert preflight(_config(tmp_path)) == ["x", "target"]


def test_missing_path(tmp_path):
    with pytest.raises(BadInputError, match="does not exist; check --data"):
        preflight(_config(tmp_path / "nope.csv"))


def test_wrong_label_suggests_close_matches(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,Target\n1,2\n")
    with pytest.raises(BadInputError, match=r"label column 'target'.*Did you mean 'Target'"):
        preflight(_config(path))


def test_unknown_excluded_or_slice_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,target\n1,2\n")
    with pytest.raises(BadInputError, match="excluded column 'id'"):
        preflight(_config(path, "target", "data.exclude_columns=[id]"))
    with pytest.raises(BadInputError, match="slice column 'y'"):
        preflight(_config(path, "target", "evaluation.slices=[y]"))
    with pytest.raises(BadInputError, match="numeric column 'n'"):
        preflight(_config(path, "target", "data.numeric_columns=[n]"))


def test_folder_files_must_share_a_header(tmp_path):
    (tmp_path / "a.csv").write_text("x,target\n1,2\n")
    (tmp_path / "b.csv").write_text("y,target\n1,2\n")
    with pytest.raises(BadInputError, match="different header"):
        preflight(_config(tmp_path))


def test_empty_folder(tmp_path):
    with pytest.raises(BadInputError, match="no non-empty CSV files"):
        preflight(_config(tmp_path))


def test_remote_paths_are_split_without_network_access():
    assert input_location("gs://b/data/x.csv.gz") == ("gs://b/data", "x.csv.gz")
    assert input_location("gs://b/data/") == ("gs://b/data", "*.csv*")


def _two_classes(tmp_path, text="x,target\n1,a\n2,b\n", name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_output_folder_is_created_last_and_must_take_files(tmp_path):
    data = _two_classes(tmp_path)
    with pytest.raises(BadInputError, match="label column"):
        preflight(_config(data, "nope", output=tmp_path / "new"))
    assert not (tmp_path / "new").exists()  # bad input leaves nothing behind
    preflight(_config(data, output=tmp_path / "new" / "deeper"))
    assert (tmp_path / "new" / "deeper").is_dir()
    with pytest.raises(BadInputError, match=r"--output .*d.csv is a file, not a folder"):
        preflight(_config(data, output=data))
    with pytest.raises(BadInputError, match=r"cannot write to --output .*: Not a directory"):
        preflight(_config(data, output=data / "sub"))
    with pytest.raises(BadInputError, match=r"cannot write to --output /proc/1/out: "):
        preflight(_config(data, output="/proc/1/out"))  # refused even to root


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_another_delimiter_is_named_instead_of_blaming_the_label(tmp_path, delimiter, name):
    text = "x,y;target\n1;a\n2;b\n".replace(";", delimiter)
    data = _two_classes(tmp_path, text)
    with pytest.raises(BadInputError) as error:
        preflight(_config(data))
    assert f"The file looks {name}-delimited: set data.delimiter={delimiter!r}" in str(error.value)
    assert preflight(_config(data, "target", f"data.delimiter={delimiter}")) == ["x,y", "target"]


def test_a_label_with_one_class_stops_in_seconds(tmp_path):
    data = _two_classes(tmp_path, "x,target\n1,a\n2,a\n3,?\n")
    assert preflight(_config(data)) == ["x", "target"]  # '?' is a class until declared missing
    with pytest.raises(BadInputError, match="holds only the class 'a': a classifier needs"):
        preflight(_config(data, "target", "data.missing_values=?"))


def test_colliding_and_repeated_names_are_all_named(tmp_path):
    data = _two_classes(tmp_path, "a/b,a_b,a b,id,id_,target\n1,2,3,4,5,a\n1,2,3,4,5,b\n")
    with pytest.raises(BadInputError, match="'a/b', 'a_b', 'a b' all map to 'a_b_xf'"):
        preflight(_config(data, "target", "data.exclude_columns=[id]"))
    repeated = _two_classes(tmp_path, "a,b,a,target\n1,2,3,a\n", "r.csv")
    with pytest.raises(BadInputError, match=r"column 'a' appears 2 times \(columns 1, 3\)"):
        preflight(_config(repeated))


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (gzip.compress(b"x,target\n1,a\n", mtime=0), "gzip-compressed"),
        (b"PK\x03\x04xl/", "a zip archive"),
        ("x,target\n1,a\n2,b\n".encode("utf-16"), "UTF-16 text"),
    ],
    ids=["gzip", "zip", "utf-16"],  # test ids every pytest worker collects alike
)
def test_a_compressed_or_excel_file_named_csv_is_named(tmp_path, content, kind):
    data = tmp_path / "d.csv"
    data.write_bytes(content)
    with pytest.raises(BadInputError, match=f"d.csv is {kind}"):
        preflight(_config(data))


def test_a_truncated_file_and_bad_bytes_are_found_before_the_pipeline(tmp_path):
    text = "x,target\n" + "1,a\n2,b\n" * 5000
    truncated = tmp_path / "t.csv.gz"
    compressed = gzip.compress(text.encode())
    truncated.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(BadInputError, match="t.csv.gz is truncated or corrupt"):
        preflight(_config(truncated))
    latin = tmp_path / "l.csv"
    latin.write_bytes((text + "3,é\n").encode("latin-1"))
    with pytest.raises(BadInputError, match="l.csv line 10002 is not utf-8 text"):
        preflight(_config(latin))
    assert preflight(_config(latin, "target", "data.encoding=latin-1")) == ["x", "target"]


def test_a_file_without_feature_columns(tmp_path):
    data = _two_classes(tmp_path, "id,target\n1,a\n2,b\n")
    with pytest.raises(BadInputError, match="no feature columns besides the label"):
        preflight(_config(data, "target", "data.exclude_columns=[id]"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Exported 2026-11-30\nx,target\n1,a\n2,b\n", "The header seems to be line 2: remove"),
        ("\nx,target\n1,a\n2,b\n", "the first line of .*d.csv is empty: the header must be"),
    ],
)
def test_a_header_below_line_1_is_found(tmp_path, text, message):
    with pytest.raises(BadInputError, match=message):
        preflight(_config(_two_classes(tmp_path, text)))
