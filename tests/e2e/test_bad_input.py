"""Bad input through the real CLI: one clear message, a documented exit code, nothing pushed.

Every case runs `pipeline_runner.py run` on a small real shuttle sample with
one defect and checks the exit code, the message (problem and fix) on stderr,
that no stack trace reaches the console, and that serving/ holds no model.
"""

import gzip
import os
import zlib

import pandas as pd
import pytest

from components.modules.errors import ExitCode
from tests.e2e.conftest import FAST, pushed_versions, run_cli

pytestmark = pytest.mark.e2e


def _write(path, text: str) -> str:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def _lines(shuttle_sample: str) -> list[str]:
    with gzip.open(shuttle_sample, "rt", encoding="utf-8") as f:
        return f.read().splitlines(keepends=True)


def _with_rows(shuttle_sample: str, tmp_path, rows: list[dict]) -> str:
    """The sample, all values written as integers, plus rows made from its first row."""
    frame = pd.read_csv(shuttle_sample)
    extra = pd.DataFrame([{**frame.iloc[0].to_dict(), **row} for row in rows])
    path = tmp_path / "data.csv.gz"
    pd.concat([frame, extra]).astype(int).to_csv(path, index=False)
    return str(path)


def _with_value(shuttle_sample: str, tmp_path, line: int, column: int, value: str) -> str:
    """The sample with the text of one field replaced (1-based line, 0-based column)."""
    lines = _lines(shuttle_sample)
    fields = lines[line - 1].split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields)
    return _write(tmp_path / "data.csv.gz", "".join(lines))


def _fails(tmp_path, data: str, code: ExitCode, *messages: str, args=(), label="target") -> str:
    output = str(tmp_path / "out")
    label_args = ["--label", label] if label else []
    result = run_cli("--data", data, *label_args, "--output", output, *FAST, *args)
    assert result.returncode == code, result.stderr + result.stdout
    for message in messages:
        assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert pushed_versions(output) == []
    return result.stderr


def test_no_label_given(shuttle_sample, tmp_path):
    _fails(tmp_path, shuttle_sample, ExitCode.BAD_INPUT, "pass --label NAME", label=None)


def test_missing_path(tmp_path):
    _fails(tmp_path, str(tmp_path / "nope.csv"), ExitCode.BAD_INPUT, "does not exist; check --data")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _fails(tmp_path, str(empty), ExitCode.BAD_INPUT, "no non-empty CSV files")


def test_header_only(shuttle_sample, tmp_path):
    data = _write(tmp_path / "header.csv.gz", _lines(shuttle_sample)[0])
    _fails(tmp_path, data, ExitCode.BAD_INPUT, "no data rows", "hold a header only")


@pytest.mark.parametrize("line", [2, 600])
def test_row_with_the_wrong_number_of_fields(shuttle_sample, tmp_path, line):
    lines = _lines(shuttle_sample)
    lines[line - 1] = lines[line - 1].rstrip("\n") + ",99\n"
    data = _write(tmp_path / "data.csv.gz", "".join(lines))
    _fails(
        tmp_path,
        data,
        ExitCode.BAD_INPUT,
        "1 rows do not have the header's 10 fields",
        f"data.csv.gz line {line} (11 fields)",
        "Fix or remove these rows",
    )


@pytest.mark.parametrize("line", [2, 501])
def test_unparsable_number(shuttle_sample, tmp_path, line):
    data = _with_value(shuttle_sample, tmp_path, line, 2, "12O")  # letter O typed for a zero
    _fails(
        tmp_path,
        data,
        ExitCode.BAD_INPUT,
        "column 'A3' holds numbers, but '12O' at",
        f"data.csv.gz line {line}",
    )


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_nan_and_infinity_in_a_numeric_column(shuttle_sample, tmp_path, value):
    data = _with_value(shuttle_sample, tmp_path, 300, 4, value)
    _fails(
        tmp_path,
        data,
        ExitCode.BAD_INPUT,
        f"column 'A5' holds NaN or infinity: '{value}' at",
        "line 300",
        "empty fields",
    )


def test_feature_with_all_values_missing(shuttle_sample, tmp_path):
    frame = pd.read_csv(shuttle_sample)
    frame["A4"] = None
    data = str(tmp_path / "data.csv.gz")
    frame.to_csv(data, index=False)
    _fails(
        tmp_path,
        data,
        ExitCode.BAD_INPUT,
        "column 'A4' is empty in every row",
        "data.exclude_columns",
    )


# ExampleGen stratifies by class, so a class with two or more rows is always in
# both splits (tests/components/test_csv_example_gen.py). A class with a single
# example cannot be: it goes where the hash of the row's text puts it, and the
# rows below were found by running ExampleGen on them: class 12, made from the
# first row with A1 + 4, lands in eval; class 11, with A1 + 1, in train.
def _class_row(shuttle_sample, label: int, a1_offset: int) -> dict:
    first = pd.read_csv(shuttle_sample).iloc[0]
    return {"A1": int(first["A1"]) + a1_offset, "target": label}


def test_single_example_class_only_in_eval(shuttle_sample, tmp_path):
    data = _with_rows(shuttle_sample, tmp_path, [_class_row(shuttle_sample, 12, 4)])
    _fails(
        tmp_path,
        data,
        ExitCode.SCHEMA_GATE_FAILED,
        "train: class '12' has no examples (1 in eval)",
        "add rows of it or remove its rows",
    )


def test_single_example_class_in_train_absent_from_eval(shuttle_sample, tmp_path):
    data = _with_rows(shuttle_sample, tmp_path, [_class_row(shuttle_sample, 11, 1)])
    _fails(
        tmp_path,
        data,
        ExitCode.SCHEMA_GATE_FAILED,
        "eval: class '11' has no examples (1 in train)",
        "class_skew.missing_class",
    )


def test_float_labels(shuttle_sample, tmp_path):
    frame = pd.read_csv(shuttle_sample)
    frame["target"] = frame["target"].astype(float)
    data = str(tmp_path / "data.csv.gz")
    frame.to_csv(data, index=False)
    _fails(tmp_path, data, ExitCode.BAD_INPUT, "write classes as integers (1, not 1.0)")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.epoch=3", "unknown config key 'training.epoch'; did you mean 'epochs'?"),
        ("training.epochs=three", "'training.epochs' must be of type int, got 'three'"),
        ("evaluation.min_class_recall=1.5", "evaluation.min_class_recall must be in [0, 1]"),
    ],
)
def test_invalid_config(shuttle_sample, tmp_path, override, message):
    _fails(tmp_path, shuttle_sample, ExitCode.BAD_INPUT, message, args=["--set", override])
    assert not os.path.exists(tmp_path / "out" / "metadata.sqlite")


def test_numbers_beyond_float32_are_bad_input_not_a_junk_model(shuttle_sample, tmp_path):
    data = _with_value(shuttle_sample, tmp_path, 300, 4, "1e39")
    _fails(
        tmp_path, data, ExitCode.BAD_INPUT, "column 'A5' holds numbers beyond float32", "line 300"
    )


@pytest.mark.parametrize("cut_at_line_end", [True, False])
def test_a_truncated_gzip_file(shuttle_sample, tmp_path, cut_at_line_end):
    text = "".join(_lines(shuttle_sample))
    keep = text[: text.index("\n", len(text) // 2) + (1 if cut_at_line_end else -3)]
    compressor = zlib.compressobj(wbits=31)  # gzip framing, ended without its trailer
    data = tmp_path / "data.csv.gz"
    data.write_bytes(compressor.compress(keep.encode()) + compressor.flush(zlib.Z_FULL_FLUSH))
    _fails(tmp_path, str(data), ExitCode.BAD_INPUT, "data.csv.gz is truncated or corrupt")


def test_a_label_with_a_single_class_stops_before_training(shuttle_sample, tmp_path):
    frame = pd.read_csv(shuttle_sample).assign(target=1)
    data = str(tmp_path / "data.csv.gz")
    frame.to_csv(data, index=False)
    stderr = _fails(tmp_path, data, ExitCode.BAD_INPUT, "a classifier needs at least two classes")
    assert "only the class '1'" in stderr


def test_latin_1_bytes_are_located_with_the_fix(shuttle_sample, tmp_path):
    lines = _lines(shuttle_sample)
    lines[40] = lines[40].replace(",", ",café ", 1)  # a text value in column A2
    data = tmp_path / "data.csv"
    data.write_bytes("".join(lines).encode("latin-1"))
    _fails(
        tmp_path,
        str(data),
        ExitCode.BAD_INPUT,
        "data.csv line 41 is not utf-8 text",
        "data.encoding",
    )


@pytest.mark.parametrize(
    ("header", "messages"),
    [
        (["A1", "A1"], ["column 'A1' appears 2 times (columns 1, 2)"]),
        (["a/b", "a_b", "a b"], ["'a/b', 'a_b', 'a b' all map to 'a_b_xf'"]),
    ],
)
def test_repeated_and_colliding_column_names_are_all_named(
    shuttle_sample, tmp_path, header, messages
):
    frame = pd.read_csv(shuttle_sample)
    frame.columns = header + list(frame.columns[len(header) :])
    data = str(tmp_path / "data.csv")
    frame.to_csv(data, index=False)
    _fails(tmp_path, data, ExitCode.BAD_INPUT, *messages)


def test_a_semicolon_file_is_named_as_such(shuttle_sample, tmp_path):
    data = str(tmp_path / "data.csv")
    pd.read_csv(shuttle_sample).to_csv(data, index=False, sep=";")
    _fails(
        tmp_path,
        data,
        ExitCode.BAD_INPUT,
        "The file looks semicolon-delimited: set data.delimiter=';'",
    )


@pytest.mark.parametrize("where", ["a file", "under a file", "unwritable"])
def test_output_path_problems(shuttle_sample, tmp_path, where):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    output = {"a file": blocker, "under a file": blocker / "out", "unwritable": "/proc/1/out"}
    result = run_cli("--data", shuttle_sample, "--label", "target", "--output", str(output[where]))
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert str(output[where]) in result.stderr and "Traceback" not in result.stderr
    assert ("is a file, not a folder" if where == "a file" else "cannot write to --output") in (
        result.stderr
    )
