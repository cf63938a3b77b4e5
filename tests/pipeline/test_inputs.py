"""The pre-flight check of the data location and its columns."""

import gzip

import pytest

from components.modules.errors import BadInputError
from pipeline.config import load_config
from pipeline.inputs import check_data, input_location


def _config(path, label="target", *overrides):
    return load_config(None, list(overrides), data__path=str(path), data__label=label)


def test_reads_the_header_of_a_gzipped_file(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write('"AIR_BAG/DEPLOYMENT","a,b",target\n1,2,3\n')
    assert check_data(_config(path)) == ["AIR_BAG/DEPLOYMENT", "a,b", "target"]


def test_a_file_and_a_folder_map_to_example_gen_patterns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,target\n1,2\n")
    assert input_location(str(path)) == (str(tmp_path), "d.csv")
    assert input_location(str(tmp_path)) == (str(tmp_path), "*.csv*")
    assert check_data(_config(tmp_path)) == ["x", "target"]


def test_missing_path(tmp_path):
    with pytest.raises(BadInputError, match="does not exist; check --data"):
        check_data(_config(tmp_path / "nope.csv"))


def test_wrong_label_suggests_close_matches(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,Target\n1,2\n")
    with pytest.raises(BadInputError, match=r"label column 'target'.*Did you mean 'Target'"):
        check_data(_config(path))


def test_unknown_excluded_or_slice_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,target\n1,2\n")
    with pytest.raises(BadInputError, match="excluded column 'id'"):
        check_data(_config(path, "target", "data.exclude_columns=[id]"))
    with pytest.raises(BadInputError, match="slice column 'y'"):
        check_data(_config(path, "target", "evaluation.slices=[y]"))
    with pytest.raises(BadInputError, match="numeric column 'n'"):
        check_data(_config(path, "target", "data.numeric_columns=[n]"))


def test_folder_files_must_share_a_header(tmp_path):
    (tmp_path / "a.csv").write_text("x,target\n1,2\n")
    (tmp_path / "b.csv").write_text("y,target\n1,2\n")
    with pytest.raises(BadInputError, match="different header"):
        check_data(_config(tmp_path))


def test_empty_folder(tmp_path):
    with pytest.raises(BadInputError, match="no non-empty CSV files"):
        check_data(_config(tmp_path))


def test_remote_paths_are_split_without_network_access():
    assert input_location("gs://b/data/x.csv.gz") == ("gs://b/data", "x.csv.gz")
    assert input_location("gs://b/data/") == ("gs://b/data", "*.csv*")
