"""Reads a CSV once in plain Python to find every problem a user must fix, and types columns.

Rows with the wrong number of fields, text, NaN / infinity or values beyond
float32 in a numeric column, columns with no values, a label with fewer than
two classes, bytes that are not in the file's encoding and truncated or corrupt
compressed files stop the run with the file and line to fix, instead of being
silently typed as strings, dropped or trained on. The same pass types each
column the way TFX's CSV ExampleGen does (int, else float, else bytes) and
counts the rows of every class, for the stratified split.
"""

import bz2
import codecs
import collections
import contextlib
import csv
import dataclasses
import gzip
import lzma
import math
import re
import zlib
from collections.abc import Iterator

import numpy as np
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.modules.errors import BadInputError

DECIMAL_COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+")
MAX_LISTED = 3  # problem locations listed per kind; the count says how many more
INT64_RANGE = (-(2**63), 2**63 - 1)
MANY_CLASSES = 50  # with more classes than half the rows as well, a label is no label
FLOAT32_MAX = float(np.finfo(np.float32).max)  # larger numbers become infinity in training
# Decompressed here rather than by Beam, which takes a truncated file's end for the data's end.
DECOMPRESSORS = {
    ".gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    ".bz2": bz2.BZ2File,
    ".xz": lzma.LZMAFile,
    ".lzma": lzma.LZMAFile,
}
CORRUPTION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


@dataclasses.dataclass(frozen=True)
class CsvFormat:
    """How the CSV files are written (the data section's delimiter, encoding, missing values,
    decimal mark)."""

    delimiter: str = ","
    encoding: str = "utf-8"
    missing_values: tuple[str, ...] = ()  # cells read as missing, besides empty ones
    decimal: str = "."  # "," for numbers written 2,5

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "missing_values": list(self.missing_values)}

    @classmethod
    def from_dict(cls, options: dict) -> "CsvFormat":
        names = {field.name for field in dataclasses.fields(cls)}
        given = {key: value for key, value in options.items() if key in names}
        return cls(**{**given, "missing_values": tuple(given.get("missing_values", ()))})


PLAIN_CSV = CsvFormat()  # comma-separated UTF-8, only empty cells missing


def _decompressor(path: str):
    return next(
        (opener for suffix, opener in DECOMPRESSORS.items() if path.lower().endswith(suffix)), None
    )


@contextlib.contextmanager
def open_csv_bytes(path: str) -> Iterator:
    """The file's bytes, decompressed by its suffix; a truncated file raises on reading.

    Beam's own decompression (FileSystems.open) ends a gzip file cut at a line
    boundary quietly, as if the data ended there.
    """
    opener = _decompressor(path)
    if opener is None:
        with FileSystems.open(path) as raw:  # plain, or a format Beam decompresses (.zst)
            yield raw
        return
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        with opener(raw) as decompressed:
            yield decompressed


def decoded_lines(path: str, encoding: str = "utf-8") -> Iterator[str]:
    """The file's physical lines as text.

    Raises:
      BadInputError: a compressed file is truncated or corrupt, or a line holds
        bytes that are not in `encoding`; naming the file and line.
    """
    # A UTF-8 file may start with a byte order mark (Excel writes one).
    first_line_codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    with open_csv_bytes(path) as raw:
        number = 0
        try:
            for number, line in enumerate(iter(raw.readline, b""), 1):
                try:
                    yield line.decode(first_line_codec if number == 1 else encoding)
                except UnicodeDecodeError as error:
                    raise BadInputError(
                        f"{path} line {number} is not {encoding} text: byte "
                        f"0x{line[error.start]:02x} at position {error.start + 1}. Save the file "
                        f"as UTF-8 (e.g. iconv -f latin1 -t utf-8 IN > OUT) or set "
                        "data.encoding to its encoding (e.g. latin-1)"
                    ) from None
        except CORRUPTION_ERRORS as error:
            if _decompressor(path) is None:
                raise
            raise BadInputError(
                f"{path} is truncated or corrupt after line {number} ({error}); re-create or "
                "re-download it (gzip -t FILE checks a .gz file)"
            ) from None


def csv_records(path: str, csv_format: CsvFormat = PLAIN_CSV) -> Iterator[tuple[int, list[str]]]:
    """(line where it starts, fields) of every record, the header first.

    Raises:
      BadInputError: as decoded_lines, or for a record the csv module cannot
        read, such as a value over its size limit after an unclosed quote.
    """
    reader = csv.reader(decoded_lines(path, csv_format.encoding), delimiter=csv_format.delimiter)
    line = 1
    try:
        for record in reader:
            yield line, record
            line = reader.line_num + 1
    except csv.Error as error:
        raise BadInputError(
            f"{path} line {line} cannot be read as CSV ({error}); an unclosed quote makes the "
            "rest of the file one value: check the quotes on that line"
        ) from None


def read_csv_header(path: str, csv_format: CsvFormat = PLAIN_CSV) -> list[str]:
    """Returns the column names in the first line of a (possibly compressed) CSV file."""
    records = csv_records(path, csv_format)
    try:
        return next(records, (1, []))[1]
    finally:
        records.close()


def check_header(header: list[str], path: str) -> None:
    """Raises BadInputError naming every unnamed or repeated column name."""
    if not any(name.strip() for name in header):
        raise BadInputError(f"the first line of {path} is empty: the header must be line 1")
    problems = []
    unnamed = [str(position) for position, name in enumerate(header, 1) if not name.strip()]
    if unnamed:
        problems.append(
            f"columns {', '.join(unnamed)} have no name: name them or remove them (a pandas "
            "index? write the CSV with index=False)"
        )
    positions = collections.defaultdict(list)
    for position, name in enumerate(header, 1):
        positions[name].append(str(position))
    problems += [
        f"column {name!r} appears {len(at)} times (columns {', '.join(at)}): rename all but one"
        for name, at in positions.items()
        if len(at) > 1 and name.strip()
    ]
    if problems:
        raise BadInputError(f"the header of {path} cannot be used:\n  - " + "\n  - ".join(problems))


def class_problem(class_sizes: dict[str, int], label: str) -> str | None:
    """What is wrong with a label of fewer than two classes, or of mostly one-row classes
    (an ID or a measurement given as --label); '' counts missing labels."""
    classes = [name for name in class_sizes if name]
    labelled = sum(class_sizes[name] for name in classes)
    if len(classes) >= MANY_CLASSES and len(classes) > labelled / 2:
        return (
            f"label {label!r} has {len(classes)} distinct values in {labelled} rows, so most "
            "classes would have a single example: is it an ID or a measurement? Check --label"
        )
    if len(classes) >= 2 or not sum(class_sizes.values()):
        return None
    found = f"only the class {classes[0]!r}" if classes else "no values"
    return (
        f"label {label!r} holds {found}: a classifier needs at least two classes; check --label "
        "and the data"
    )


@dataclasses.dataclass
class _Column:
    """What the audit saw in one column."""

    values: int = 0  # non-empty cells
    numbers: int = 0  # cells that parse as finite float32 numbers
    non_integers: int = 0  # numbers (or NaN / inf) that are not int64: a float column
    text: list[str] = dataclasses.field(default_factory=list)  # first non-numbers, located
    non_finite: list[str] = dataclasses.field(default_factory=list)  # first NaN / inf, located
    too_large: list[str] = dataclasses.field(default_factory=list)  # first beyond float32
    comma_numbers: int = 0  # text cells that are numbers with a decimal comma, e.g. 2,5
    text_count: int = 0
    non_finite_count: int = 0
    too_large_count: int = 0

    def kind(self) -> str:
        """TFX's CSV column type: int if every value is an int64, else float, else bytes."""
        if self.text_count or not self.values:
            return "bytes"
        return "float" if self.non_integers else "int"


@dataclasses.dataclass
class CsvAudit:
    rows: int
    column_kinds: dict[str, str]
    class_sizes: dict[str, int]  # rows per raw label cell ('' for a missing label)


def _located(problems: list[str], count: int) -> str:
    more = f" and {count - len(problems)} more" if count > len(problems) else ""
    return ", ".join(problems) + more


def audit_csv(
    files: list[str],
    skip_columns: set[str] = frozenset(),
    label: str | None = None,
    csv_format: CsvFormat = PLAIN_CSV,
) -> CsvAudit:
    """Reads every row once; returns the number of data rows, each column's type, class sizes.

    Raises:
      BadInputError: naming file, line and column of malformed rows, text, NaN /
        infinity or values beyond float32 in a numeric column, empty columns, a
        label with fewer than two classes, undecodable bytes, a truncated file,
        or no rows at all.
    """
    header = read_csv_header(files[0], csv_format)
    check_header(header, files[0])
    columns = {name: _Column() for name in header}
    rows, malformed, malformed_count, repeated_headers = 0, [], 0, []
    label_index = header.index(label) if label in header else None
    class_sizes = collections.Counter()
    missing = {"", *csv_format.missing_values}
    for path in files:
        records = csv_records(path, csv_format)
        next(records, None)  # the header
        for line, record in records:
            where = f"{path} line {line}"
            if not record or record == [""]:
                continue  # a blank line
            rows += 1
            if record == header:
                repeated_headers.append(where)
                continue
            if len(record) != len(header):
                malformed_count += 1
                if len(malformed) < MAX_LISTED:
                    malformed.append(f"{where} ({len(record)} fields)")
                continue
            for name, cell in zip(header, record, strict=True):
                if cell not in missing:
                    _audit_cell(columns[name], cell, where, csv_format.decimal)
            if label_index is not None:
                cell = record[label_index]
                class_sizes["" if cell in missing else cell] += 1
    problems = _row_problems(files, rows, malformed, malformed_count, len(header))
    if repeated_headers:
        problems.append(
            f"{_located(repeated_headers[:MAX_LISTED], len(repeated_headers))} repeat the header "
            "(files joined with their headers?): remove these lines"
        )
    problems += _column_problems(columns, skip_columns, rows)
    if label_index is not None and (problem := class_problem(class_sizes, label)):
        problems.append(problem)
    if problems:
        raise BadInputError("the CSV data cannot be used as it is:\n  - " + "\n  - ".join(problems))
    kinds = {name: column.kind() for name, column in columns.items()}
    return CsvAudit(rows, kinds, dict(class_sizes))


def _row_problems(files, rows, malformed, malformed_count, fields) -> list[str]:
    if not rows:
        return [f"no data rows: {', '.join(files)} hold a header only"]
    if malformed_count:
        return [
            f"{malformed_count} rows do not have the header's {fields} fields: "
            f"{_located(malformed, malformed_count)}. Fix or remove these rows (or set "
            "data.delimiter if the file uses another one)."
        ]
    return []


def _column_problems(columns: dict[str, _Column], skip_columns: set[str], rows: int) -> list[str]:
    problems = []
    for name, column in columns.items():
        if name in skip_columns:
            continue
        if rows and not column.values:
            problems.append(
                f"column {name!r} is empty in every row: remove it from the data or list it "
                "in data.exclude_columns"
            )
        elif column.comma_numbers == column.text_count > 0:
            problems.append(
                f"column {name!r} holds numbers with a decimal comma "
                f"({_located(column.text, column.text_count)}): set data.decimal=',' to read "
                "them as numbers"
            )
        elif column.text and column.numbers > column.text_count:
            problems.append(
                f"column {name!r} holds numbers, but {_located(column.text, column.text_count)} "
                "are not numbers. Fix these values; write missing values as empty fields (or "
                "list their marker in data.missing_values)."
            )
        if column.non_finite:
            problems.append(
                f"column {name!r} holds NaN or infinity: "
                f"{_located(column.non_finite, column.non_finite_count)}. Write missing values "
                "as empty fields and replace infinities with finite values."
            )
        if column.too_large:
            problems.append(
                f"column {name!r} holds numbers beyond float32 (±{FLOAT32_MAX:.4g}), which "
                f"training would turn into infinity: "
                f"{_located(column.too_large, column.too_large_count)}. Rescale the column "
                "(e.g. take its log) or fix these values."
            )
    return problems


def _audit_cell(column: _Column, cell: str, where: str, decimal: str = ".") -> None:
    column.values += 1
    if decimal != ".":
        cell = cell.replace(decimal, ".")
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
        column.comma_numbers += bool(DECIMAL_COMMA_NUMBER.fullmatch(cell))
        if len(column.text) < MAX_LISTED:
            column.text.append(f"{cell!r} at {where}")
        return
    column.non_integers += 1
    if not math.isfinite(number):
        column.non_finite_count += 1
        if len(column.non_finite) < MAX_LISTED:
            column.non_finite.append(f"{cell!r} at {where}")
    elif abs(number) > FLOAT32_MAX:
        column.too_large_count += 1
        if len(column.too_large) < MAX_LISTED:
            column.too_large.append(f"{cell!r} at {where}")
    else:
        column.numbers += 1
