"""The CSV audit: every bad row named by file and line; columns typed like TFX."""

import bz2
import gzip
import lzma
import zlib

import pytest

from components.example_gen.csv_audit import CsvFormat, audit_csv
from components.modules.errors import BadInputError, ExitCode
from tests.components.example_gen.csv_files import write_csv


def _problems(tmp_path, body: str, **kwargs) -> str:
    with pytest.raises(BadInputError) as error:
        audit_csv([write_csv(tmp_path, body)], **kwargs)
    assert error.value.exit_code == ExitCode.BAD_INPUT
    return str(error.value)


def test_good_rows_are_counted_blank_lines_and_quoted_newlines_are_not_rows(tmp_path):
    body = '1,2.5,x\n\n3,,"multi\nline"\n4,5,y\n'
    assert audit_csv([write_csv(tmp_path, body, "data.csv.gz")]).rows == 3


def test_rows_with_the_wrong_number_of_fields_are_located(tmp_path):
    body = "1,2\n" + "1,2,x\n" * 500 + "1,2,x,9\n"
    message = _problems(tmp_path, body)
    assert "2 rows do not have the header's 3 fields" in message
    assert "data.csv line 2 (2 fields)" in message and "data.csv line 503 (4 fields)" in message


def test_text_in_a_numeric_column_is_located(tmp_path):
    body = "1,2,x\n" * 300 + "1,abc,x\n"
    message = _problems(tmp_path, body)
    assert "column 'b' holds numbers, but 'abc' at" in message and "line 302" in message


def test_a_text_column_with_a_few_numbers_is_text(tmp_path):
    assert audit_csv([write_csv(tmp_path, "1,red,x\n2,blue,y\n3,7,x\n")]).rows == 3


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_nan_and_infinity_are_refused(tmp_path, value):
    message = _problems(tmp_path, f"1,2,x\n1,{value},y\n")
    assert f"column 'b' holds NaN or infinity: '{value}' at" in message
    assert "line 3" in message and "empty fields" in message


def test_a_column_without_values_is_named_unless_excluded(tmp_path):
    body = "1,,x\n2,,y\n"
    assert "column 'b' is empty in every row" in _problems(tmp_path, body)
    assert audit_csv([write_csv(tmp_path, body)], skip_columns={"b"}).rows == 2


def test_header_only(tmp_path):
    assert "no data rows" in _problems(tmp_path, "")


def test_the_audit_types_columns_like_tfx(tmp_path):
    body = "1,2,x\n2,2.5,3\n,1e30,\n"
    kinds = audit_csv([write_csv(tmp_path, body)]).column_kinds
    assert kinds == {"a": "int", "b": "float", "label": "bytes"}


def test_numbers_beyond_float32_are_refused_like_infinity(tmp_path):
    message = _problems(tmp_path, "1,2,x\n1,1e39,y\n1,-3.5e38,y\n1,3e38,y\n")
    assert "column 'b' holds numbers beyond float32" in message
    assert "'1e39' at" in message and "line 3" in message and "'-3.5e38' at" in message
    assert "'3e38'" not in message


def _gzip_cut(text: str, keep: str) -> bytes:
    """A gzip stream of `text` cut right after the compressed bytes of its prefix `keep`."""
    compressor = zlib.compressobj(wbits=31)  # gzip framing
    start = compressor.compress(keep.encode()) + compressor.flush(zlib.Z_FULL_FLUSH)
    return start  # no rest, no end-of-stream marker, no CRC


@pytest.mark.parametrize("cut_at_line_end", [True, False])
def test_a_truncated_gzip_file_is_named_not_read_as_shorter_data(tmp_path, cut_at_line_end):
    text = "a,b,label\n" + "1,2,x\n2,3,y\n" * 500
    keep = text[: text.index("\n", 3000) + (1 if cut_at_line_end else -2)]
    path = tmp_path / "data.csv.gz"
    path.write_bytes(_gzip_cut(text, keep))
    with pytest.raises(BadInputError, match=r"data.csv.gz is truncated or corrupt after line \d+"):
        audit_csv([str(path)])


def test_a_corrupt_gzip_file_is_named(tmp_path):
    data = bytearray(gzip.compress(("a,b,label\n" + "1,2,x\n2,3,y\n" * 500).encode()))
    data[-6] ^= 0xFF  # the CRC
    path = tmp_path / "data.csv.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match="truncated or corrupt.*gzip -t"):
        audit_csv([str(path)])


def test_bytes_outside_the_encoding_are_located_and_the_encoding_can_be_set(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("a,b,label\n1,2,x\n1,2,café\n".encode("latin-1"))
    with pytest.raises(BadInputError) as error:
        audit_csv([str(path)])
    message = str(error.value)
    assert "data.csv line 3 is not utf-8 text: byte 0xe9 at position 8" in message
    assert "data.encoding" in message and "iconv" in message
    audit = audit_csv([str(path)], label="label", csv_format=CsvFormat(encoding="latin-1"))
    assert audit.class_sizes == {"x": 1, "café": 1}


def test_another_delimiter_and_missing_value_markers(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("a;b;label\n1;?;x\n2;x5;NA\n3;4;y\n")
    assert "'?' at" in _problems(tmp_path, "1,?,x\n2,3,y\n3,4,x\n")
    csv_format = CsvFormat(delimiter=";", missing_values=("?", "NA"))
    audit = audit_csv([str(path)], label="label", csv_format=csv_format)
    assert audit.column_kinds == {"a": "int", "b": "bytes", "label": "bytes"}
    assert audit.class_sizes == {"x": 1, "": 1, "y": 1}


@pytest.mark.parametrize(
    ("labels", "found"), [(["x", "x"], "only the class 'x'"), (["", ""], "no values")]
)
def test_a_label_with_fewer_than_two_classes_is_refused(tmp_path, labels, found):
    body = "".join(f"1,2,{label}\n" for label in labels)
    message = _problems(tmp_path, body, label="label")
    assert f"label 'label' holds {found}: a classifier needs at least two classes" in message


@pytest.mark.parametrize(
    ("header", "messages"),
    [
        ("a,b,a,b", ["column 'a' appears 2 times (columns 1, 3)", "column 'b' appears 2"]),
        (",a,b", ["columns 1 have no name", "index=False"]),
    ],
)
def test_header_names_must_be_unique_and_present(tmp_path, header, messages):
    path = tmp_path / "data.csv"
    path.write_text(header + "\n" + ",".join(["1"] * len(header.split(","))) + "\n")
    with pytest.raises(BadInputError) as error:
        audit_csv([str(path)])
    for message in messages:
        assert message in str(error.value)


def test_an_unclosed_quote_is_located(tmp_path):
    body = "1,2,x\n" * 3 + '1,"2,x\n' + "1,2,y\n" * 30000  # the rest: one value over csv's limit
    message = _problems(tmp_path, body)
    assert "data.csv line 5 cannot be read as CSV (field larger than field limit" in message
    assert "unclosed quote" in message


def test_a_label_of_mostly_one_row_classes_is_refused(tmp_path):
    message = _problems(tmp_path, "".join(f"1,2,id{i}\n" for i in range(60)), label="label")
    assert "label 'label' has 60 distinct values in 60 rows" in message and "an ID" in message
    many = "".join(f"1,2,c{i % 50}\n" for i in range(100))  # 50 classes of two rows: a label
    assert audit_csv([write_csv(tmp_path, many)], label="label").rows == 100


def test_decimal_commas_are_named_with_the_fix_and_read_with_it(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("a;b;label\n1;2,5;x\n2;-0,75;y\n3;4;x\n")
    with pytest.raises(BadInputError, match=r"column 'b' holds numbers with a decimal comma"):
        audit_csv([str(path)], csv_format=CsvFormat(delimiter=";"))
    audit = audit_csv([str(path)], csv_format=CsvFormat(delimiter=";", decimal=","))
    assert audit.column_kinds == {"a": "int", "b": "float", "label": "bytes"}


def test_header_lines_repeated_inside_the_data_are_located(tmp_path):
    message = _problems(tmp_path, "1,2,x\n" * 3 + "a,b,label\n" + "1,2,y\n" * 3)
    assert "data.csv line 5 repeat the header (files joined with their headers?)" in message


@pytest.mark.parametrize(("suffix", "compress"), [(".bz2", bz2.compress), (".xz", lzma.compress)])
def test_bz2_and_xz_files_are_read_and_a_truncated_one_is_named(tmp_path, suffix, compress):
    data = compress(("a,b,label\n" + "1,2,x\n2,3,y\n" * 500).encode())
    whole, cut = tmp_path / f"whole.csv{suffix}", tmp_path / f"cut.csv{suffix}"
    whole.write_bytes(data)
    cut.write_bytes(data[: len(data) // 2])
    assert audit_csv([str(whole)], label="label").rows == 1000
    with pytest.raises(BadInputError, match=f"cut.csv{suffix} is truncated or corrupt"):
        audit_csv([str(cut)])
