"""The CSV audit: every bad row named by file and line; columns typed like TFX."""

import pytest

from components.example_gen.csv_audit import audit_csv
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
    body = "1,2,x\n2,2.5,3\n,1e40,\n"
    kinds = audit_csv([write_csv(tmp_path, body)]).column_kinds
    assert kinds == {"a": "int", "b": "float", "label": "bytes"}
