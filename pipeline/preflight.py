"""Checks the input and the output folder in seconds, before any component runs.

Catching a wrong path, label, delimiter, encoding, header or a truncated file
here gives one clear message before TensorFlow even loads, instead of a stack
trace from deep inside a Beam job minutes later. ExampleGen's audit
(components.example_gen.csv_audit) checks every cell again where the
pipeline runs, which is the only check a remote (gs://) file gets before then.
"""

import collections
import csv
import difflib
import itertools
import os
import tempfile
from collections.abc import Callable

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.example_gen.csv_audit import (
    CsvFormat,
    check_header,
    class_problem,
    csv_records,
    decoded_lines,
    read_csv_header,
)
from components.modules.errors import BadInputError
from components.modules.features import feature_keys
from pipeline.config import Config, DataConfig
from pipeline.hierarchy import check_classes, read_hierarchy

CSV_PATTERN = "*.csv*"
LIKELY_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFFED_LINES = 20
MAGIC_BYTES = {
    b"\x1f\x8b": "gzip-compressed",
    b"PK\x03\x04": "a zip archive (an Excel file?)",
    b"\xff\xfe": "UTF-16 text (Excel's 'Unicode text'?)",
    b"\xfe\xff": "UTF-16 text",
}


def input_location(path: str) -> tuple[str, str]:
    """Splits a file or folder path into ExampleGen's (input_base, file pattern).

    Local paths become absolute: components may run in another working directory.
    A remote path (gs://...) is a file when it ends in .csv or .gz, a folder
    otherwise, so that compiling a pipeline needs no network access.
    """
    if "://" in path:
        is_file = path.endswith((".csv", ".gz"))
    else:
        path = os.path.abspath(path)
        is_file = os.path.isfile(path)
    if is_file:
        return os.path.dirname(path), os.path.basename(path)
    return path.rstrip("/"), CSV_PATTERN


def csv_files(path: str) -> list[str]:
    """The CSV files ExampleGen will read for `path`, sorted."""
    base, pattern = input_location(path)
    match = FileSystems.match([os.path.join(base, pattern)])[0]
    return sorted(m.path for m in match.metadata_list if m.size_in_bytes > 0)


def preflight(config: Config) -> list[str]:
    """Returns the CSV columns, or raises BadInputError naming the problem and the fix.

    Local files are read whole, once, in plain Python (about a second per
    500,000 rows): that finds truncated files, undecodable bytes and a label
    with one class. A BigQuery query is not checked here: that would need
    credentials. The output folder is created last, so bad input leaves nothing.
    """
    data = config.data
    if not data.path and not data.query:
        raise BadInputError("no data given: pass --data PATH (a CSV file, .csv.gz, or a folder)")
    if not data.label:
        raise BadInputError("no label column given: pass --label NAME")
    if data.query:
        _check_output(config.pipeline.output)
        return []  # BigQuery checks the query and its columns when ExampleGen runs it
    if not FileSystems.exists(data.path):
        raise BadInputError(f"data path {data.path!r} does not exist; check --data")
    if data.schema and not FileSystems.exists(data.schema):
        raise BadInputError(
            f"curated schema {data.schema!r} does not exist; fix data.schema (see schema/README.md)"
        )
    files = csv_files(data.path)
    if not files:
        raise BadInputError(
            f"no non-empty CSV files ({CSV_PATTERN}) under {data.path!r}; check --data"
        )
    columns = shared_header(files, lambda path: _header(path, data))
    require_columns(data.exclude_columns, columns, "excluded column", "data.exclude_columns")
    require_columns(
        data.categorical_columns, columns, "categorical column", "data.categorical_columns"
    )
    require_columns(data.numeric_columns, columns, "numeric column", "data.numeric_columns")
    require_columns(config.evaluation.slices, columns, "slice column", "evaluation.slices")
    parents = read_hierarchy(data.hierarchy) if data.hierarchy else None
    local = [path for path in files if "://" not in path]
    if local:
        sizes = _class_sizes(local, columns.index(data.label), data.csv_format())
        if problem := class_problem(sizes, data.label):
            raise BadInputError(problem)
        if parents is not None:
            check_classes(parents, set(sizes) - {""}, data.hierarchy)
    _check_output(config.pipeline.output)
    return columns


def csv_header(path: str, csv_format: CsvFormat) -> list[str]:
    """The file's header, checked: a CSV file (not gzip, zip or UTF-16 under a .csv name), with
    every column named once."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        start = raw.read(4)
    for magic, kind in MAGIC_BYTES.items():
        if start.startswith(magic) and not path.lower().endswith(".gz"):
            raise BadInputError(
                f"{path} is {kind}, not a CSV file: export or decompress it to CSV (UTF-8 or "
                "another byte-per-character encoding), or name a gzipped CSV file *.csv.gz"
            )
    columns = read_csv_header(path, csv_format)
    check_header(columns, path)
    return columns


def shared_header(files: list[str], header: Callable[[str], list[str]]) -> list[str]:
    """The header of every file, which must be the same; `header` reads and checks one."""
    columns = header(files[0])
    for other in files[1:]:
        if header(other) != columns:
            raise BadInputError(
                f"{other} has a different header than {files[0]}; all files must share columns"
            )
    return columns


def _header(path: str, data: DataConfig) -> list[str]:
    """The file's checked header, which must hold the label column."""
    columns = csv_header(path, data.csv_format())
    if data.label not in columns:
        hint = column_hint(path, data.label, data.csv_format())
        require_columns([data.label], columns, "label column", "--label", hint)
    skipped = {data.label, *data.exclude_columns}
    features = [column for column in columns if column not in skipped]
    if not features:
        raise BadInputError(
            f"{path} has no feature columns besides the label and data.exclude_columns: "
            "nothing to learn from; add feature columns or exclude fewer"
        )
    feature_keys(features)  # names that collide
    return columns


def column_hint(path: str, label: str, csv_format: CsvFormat) -> str:
    """Where a column (the label) is when the header lacks it: under another delimiter, or on
    a later line (a title above the header)."""
    lines = decoded_lines(path, csv_format.encoding)
    try:
        first = list(itertools.islice(lines, SNIFFED_LINES))
    finally:
        lines.close()
    delimiters = [csv_format.delimiter, *LIKELY_DELIMITERS.keys() - {csv_format.delimiter}]
    for number, line in enumerate(first, 1):
        for delimiter in delimiters:
            if label not in next(csv.reader([line], delimiter=delimiter), []):
                continue
            if number > 1:
                return f" The header seems to be line {number}: remove the lines above it."
            if delimiter != csv_format.delimiter:
                return (
                    f" The file looks {LIKELY_DELIMITERS[delimiter]}-delimited: set "
                    f"data.delimiter={delimiter!r}, e.g. --set data.delimiter={delimiter!r}."
                )
    return ""


def _class_sizes(files: list[str], label_index: int, csv_format: CsvFormat) -> dict[str, int]:
    """Rows per label value over every file, read whole: integrity and encoding checked too."""
    missing = {"", *csv_format.missing_values}
    sizes = collections.Counter()
    for path in files:
        records = csv_records(path, csv_format)
        next(records, None)  # the header
        for _, row in records:
            if len(row) > label_index:
                cell = row[label_index]
                sizes["" if cell in missing else cell] += 1
    return sizes


def _check_output(path: str) -> None:
    """The output folder exists, or is created, and takes files."""
    if "://" in path:
        return
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise BadInputError(
            f"--output {path} is a file, not a folder: pass a folder (it is created if missing)"
        )
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise BadInputError(
            f"cannot write to --output {path}: {error.strerror}; pass a folder you can write to"
        ) from None


def require_columns(
    names: list[str], columns: list[str], what: str, option: str, hint: str = ""
) -> None:
    """Raises BadInputError for the first of `names` not in `columns`, with close matches."""
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=3, cutoff=0.5)
            if close:
                hint = f" Did you mean {', '.join(map(repr, close))}?{hint}"
            raise BadInputError(
                f"{what} {name!r} is not in the data; fix {option}.{hint} "
                f"Columns: {', '.join(columns)}"
            )
