"""Reads a CSV once in plain Python to find every problem a user must fix, and types columns.

Rows with the wrong number of fields, text or NaN / infinity in a numeric
column and columns with no values stop the run with the file and line to fix,
instead of being silently typed as strings or dropped. The same pass types
each column the way TFX's CSV ExampleGen does (int, else float, else bytes) and
counts the rows of every class, for the stratified split.
"""

import codecs
import collections
import csv
import dataclasses
import math

from apache_beam.io.filesystems import FileSystems

from components.modules.errors import BadInputError

MAX_LISTED = 3  # problem locations listed per kind; the count says how many more
INT64_RANGE = (-(2**63), 2**63 - 1)


def read_csv_header(path: str) -> list[str]:
    """Returns the column names in the first line of a (possibly gzipped) CSV file."""
    with FileSystems.open(path) as raw:
        first_line = raw.readline().decode("utf-8-sig")
    return next(csv.reader([first_line]), [])


@dataclasses.dataclass
class _Column:
    """What the audit saw in one column."""

    values: int = 0  # non-empty cells
    numbers: int = 0  # cells that parse as finite numbers
    non_integers: int = 0  # numbers (or NaN / inf) that are not int64: a float column
    text: list[str] = dataclasses.field(default_factory=list)  # first non-numbers, located
    non_finite: list[str] = dataclasses.field(default_factory=list)  # first NaN / inf, located
    text_count: int = 0
    non_finite_count: int = 0

    def kind(self) -> str:
        """TFX's CSV column type: int if every value is an int64, else float, else bytes."""
        if self.text_count or not self.values:
            return "bytes"
        return "float" if self.non_integers else "int"


@dataclasses.dataclass
class CsvAudit:
    rows: int
    column_kinds: dict[str, str]
    class_sizes: dict[str, int]  # rows per raw label cell


def _located(problems: list[str], count: int) -> str:
    more = f" and {count - len(problems)} more" if count > len(problems) else ""
    return ", ".join(problems) + more


def audit_csv(
    files: list[str], skip_columns: set[str] = frozenset(), label: str | None = None
) -> CsvAudit:
    """Reads every row once; returns the number of data rows, each column's type, class sizes.

    Raises:
      BadInputError: naming file, line and column of malformed rows, text or
        NaN / infinity in a numeric column, empty columns or no rows at all.
    """
    header = read_csv_header(files[0])
    columns = {name: _Column() for name in header}
    rows, malformed, malformed_count = 0, [], 0
    label_index = header.index(label) if label in header else None
    class_sizes = collections.Counter()
    for path in files:
        with FileSystems.open(path) as raw:
            lines = codecs.iterdecode(iter(raw.readline, b""), "utf-8-sig")
            reader = csv.reader(lines)
            next(reader, None)  # the header
            line = reader.line_num + 1
            for record in reader:
                where, line = f"{path} line {line}", reader.line_num + 1
                if not record or record == [""]:
                    continue  # a blank line
                rows += 1
                if len(record) != len(header):
                    malformed_count += 1
                    if len(malformed) < MAX_LISTED:
                        malformed.append(f"{where} ({len(record)} fields)")
                    continue
                for name, cell in zip(header, record, strict=True):
                    if cell:
                        _audit_cell(columns[name], cell, where)
                if label_index is not None:
                    class_sizes[record[label_index]] += 1
    problems = []
    if not rows:
        problems.append(f"no data rows: {', '.join(files)} hold a header only")
    if malformed_count:
        problems.append(
            f"{malformed_count} rows do not have the header's {len(header)} fields: "
            f"{_located(malformed, malformed_count)}. Fix or remove these rows."
        )
    for name, column in columns.items():
        if name in skip_columns:
            continue
        if rows and not column.values:
            problems.append(
                f"column {name!r} is empty in every row: remove it from the data or list it "
                "in data.exclude_columns"
            )
        elif column.text and column.numbers > column.text_count:
            problems.append(
                f"column {name!r} holds numbers, but {_located(column.text, column.text_count)} "
                "are not numbers. Fix these values; write missing values as empty fields."
            )
        if column.non_finite:
            problems.append(
                f"column {name!r} holds NaN or infinity: "
                f"{_located(column.non_finite, column.non_finite_count)}. Write missing values "
                "as empty fields and replace infinities with finite values."
            )
    if problems:
        raise BadInputError("the CSV data cannot be used as it is:\n  - " + "\n  - ".join(problems))
    kinds = {name: column.kind() for name, column in columns.items()}
    return CsvAudit(rows, kinds, dict(class_sizes))


def _audit_cell(column: _Column, cell: str, where: str) -> None:
    column.values += 1
    if not column.non_integers:  # an int column so far; the int() attempt stops at the first float
        try:
            if INT64_RANGE[0] <= int(cell) <= INT64_RANGE[1]:
                column.numbers += 1
                return
        except ValueError:
            pass
    try:
        number = float(cell)
    except ValueError:
        column.text_count += 1
        if len(column.text) < MAX_LISTED:
            column.text.append(f"{cell!r} at {where}")
        return
    column.non_integers += 1
    if math.isfinite(number):
        column.numbers += 1
    else:
        column.non_finite_count += 1
        if len(column.non_finite) < MAX_LISTED:
            column.non_finite.append(f"{cell!r} at {where}")
