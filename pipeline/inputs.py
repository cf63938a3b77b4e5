"""Checks the data location and its columns before any component runs.

Catching a wrong path or label name here gives one clear message in seconds,
instead of a stack trace from deep inside a Beam job minutes later.
"""

import difflib
import os

from apache_beam.io.filesystems import FileSystems

from components.example_gen.csv_audit import read_csv_header
from components.modules.errors import BadInputError
from components.modules.features import feature_keys
from pipeline.config import Config

CSV_PATTERN = "*.csv*"


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


def check_data(config: Config) -> list[str]:
    """Returns the CSV columns, or raises BadInputError naming the problem and the fix.

    A BigQuery query is not checked here: that would need credentials.
    """
    data = config.data
    if not data.path and not data.query:
        raise BadInputError("no data given: pass --data PATH (a CSV file, .csv.gz, or a folder)")
    if not data.label:
        raise BadInputError("no label column given: pass --label NAME")
    if data.query:
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
    columns = read_csv_header(files[0])
    for other in files[1:]:
        if read_csv_header(other) != columns:
            raise BadInputError(
                f"{other} has a different header than {files[0]}; all files must share columns"
            )
    _require_columns([data.label], columns, "label column", "--label")
    _require_columns(data.exclude_columns, columns, "excluded column", "data.exclude_columns")
    _require_columns(
        data.categorical_columns, columns, "categorical column", "data.categorical_columns"
    )
    _require_columns(data.numeric_columns, columns, "numeric column", "data.numeric_columns")
    _require_columns(config.evaluation.slices, columns, "slice column", "evaluation.slices")
    skipped = {data.label, *data.exclude_columns}
    feature_keys([column for column in columns if column not in skipped])  # names that collide
    return columns


def _require_columns(names: list[str], columns: list[str], what: str, option: str) -> None:
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise BadInputError(
                f"{what} {name!r} is not in the data; fix {option}.{hint} "
                f"Columns: {', '.join(columns)}"
            )
