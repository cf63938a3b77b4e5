"""Batch prediction: scores CSV rows with a pushed model, through its serving signature, on Beam.

`pipeline_runner.py predict` checks the new data against the model's own
schema (assets.extra/schema.pbtxt) and the columns its serving_default parses
(assets.extra/serving_features.json) before anything runs, with the same kind
of one-line messages as `run`. Then a Beam pipeline reads the CSV rows, types
them as ExampleGen typed the training data, batches them, scores each batch
with the SavedModel (loaded once per worker, in DoFn.setup) and writes one CSV:
the ID columns (data.exclude_columns), the predicted class and its score,
every class's score and, for a model with a class hierarchy, the same for the
superclasses. The file is written under a hidden name and renamed at the end,
so a failed run leaves no half-written predictions.
"""

import csv
import dataclasses
import difflib
import io
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.filesystems import FileSystems
from tensorflow_metadata.proto.v0 import schema_pb2

from components.example_gen.csv_audit import PLAIN_CSV, CsvFormat, csv_records
from components.modules import assets
from components.modules.errors import BadInputError
from pipeline.config import Config
from pipeline.preflight import (
    column_hint,
    csv_files,
    csv_header,
    require_columns,
    shared_header,
)

PREDICTED_CLASS = "predicted_class"
SCORE = "score"
SCORE_PREFIX = "score_"
PREDICTED_SUPERCLASS = "predicted_superclass"
SUPERCLASS_SCORE = "superclass_score"
SUPERCLASS_SCORE_PREFIX = "superclass_score_"
ROW = "row"  # file:line of each input row, when there are no ID columns
BATCH_SIZE = 1024  # rows per call of the serving signature, at most
MAX_LISTED = 3  # bad cells listed per message
_KIND_NAMES = {schema_pb2.INT: "integers", schema_pb2.FLOAT: "numbers", schema_pb2.BYTES: "text"}


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """What prediction needs to know about a SavedModel before loading it."""

    path: str
    kinds: dict[str, int]  # every column serving_default parses -> its schema_pb2 type
    required: frozenset[str]  # of those, the columns that had a value in every training row
    class_names: list[str]
    superclasses: list[str]  # empty for a model without a class hierarchy


def latest_model(output: str) -> str:
    """The newest model pushed under OUTPUT/serving (numeric version directories only)."""
    serving = os.path.join(output, "serving")
    versions = (
        [name for name in os.listdir(serving) if name.isdigit()] if os.path.isdir(serving) else []
    )
    if not versions:
        raise BadInputError(
            f"no pushed model under {serving}: run `pipeline_runner.py run` with --output "
            f"{output} first, or pass --model DIR (a SavedModel directory)"
        )
    return os.path.join(serving, max(versions, key=int))


def served_model(path: str, label: str = "", exclude_columns: Sequence[str] = ()) -> ServedModel:
    """Reads the model's schema, served columns and class names.

    Models exported before serving_features.json was written serve the schema's
    columns less the label and the excluded columns, taken from the config.
    """
    if not FileSystems.exists(os.path.join(path, "saved_model.pb")):
        raise BadInputError(f"--model {path} is not a SavedModel directory (no saved_model.pb)")
    schema = assets.read_exported_schema(path)
    if schema is None:
        raise BadInputError(
            f"the model at {path} carries no {assets.SCHEMA_FILE}: it was exported before "
            "models shipped their schema; train it again with `run`"
        )
    if FileSystems.exists(os.path.join(path, assets.SERVING_FEATURES_FILE)):
        served = set(assets.read_exported_json(path, assets.SERVING_FEATURES_FILE))
    else:
        served = {f.name for f in schema.feature} - {label, *exclude_columns}
    features = [f for f in schema.feature if f.name in served]
    hierarchy_file = os.path.join(path, assets.HIERARCHY_FILE)
    hierarchy = (
        assets.read_exported_json(path, assets.HIERARCHY_FILE)
        if FileSystems.exists(hierarchy_file)
        else {"superclasses": []}
    )
    return ServedModel(
        path=path,
        kinds={f.name: f.type for f in features},
        required=frozenset(f.name for f in features if f.HasField("shape")),
        class_names=assets.read_exported_json(path, assets.CLASS_NAMES_FILE),
        superclasses=list(hierarchy["superclasses"]),
    )


def output_columns(model: ServedModel, id_columns: Sequence[str]) -> list[str]:
    """The header of the predictions file."""
    columns = [*id_columns] if id_columns else [ROW]
    columns += [PREDICTED_CLASS, SCORE, *(SCORE_PREFIX + name for name in model.class_names)]
    if model.superclasses:
        columns += [
            PREDICTED_SUPERCLASS,
            SUPERCLASS_SCORE,
            *(SUPERCLASS_SCORE_PREFIX + name for name in model.superclasses),
        ]
    return columns


def feature_value(cell: Any, kind: int, csv_format: CsvFormat = PLAIN_CSV) -> Any:
    """A CSV cell (text) or a pandas value, typed as ExampleGen typed its column: int, float
    or bytes by the schema; None for a missing value.

    Raises:
      ValueError: a value that is not of the column's type, or NaN / infinity given as text.
    """
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return None
    if isinstance(cell, str):
        if cell == "" or cell in csv_format.missing_values:
            return None
        if kind != schema_pb2.BYTES and csv_format.decimal != ".":
            cell = cell.replace(csv_format.decimal, ".")
    if kind == schema_pb2.INT:
        if isinstance(cell, float) and not cell.is_integer():
            raise ValueError("not an integer")
        return int(cell)
    if kind == schema_pb2.FLOAT:
        number = float(cell)
        if not math.isfinite(number):
            raise ValueError("NaN or infinity")
        return number
    return str(cell).encode()


def to_example(
    row: Mapping[str, Any], kinds: Mapping[str, int], csv_format: CsvFormat = PLAIN_CSV
) -> bytes:
    """A serialized tf.Example of the `kinds` columns of one row (CSV text or pandas values),
    typed like ExampleGen's; missing values are left out."""
    example = tf.train.Example()
    for name, kind in kinds.items():
        try:
            value = feature_value(row.get(name), kind, csv_format)
        except ValueError as error:
            raise ValueError(
                f"column {name!r} holds {row.get(name)!r}, not {_KIND_NAMES[kind]} ({error})"
            ) from None
        if value is None:
            continue
        feature = example.features.feature[name]
        if kind == schema_pb2.INT:
            feature.int64_list.value.append(value)
        elif kind == schema_pb2.FLOAT:
            feature.float_list.value.append(value)
        else:
            feature.bytes_list.value.append(value)
    return example.SerializeToString()


def check_data(files: list[str], model: ServedModel, id_columns: Sequence[str], csv_format):
    """Raises BadInputError for a file that is not a CSV, a missing ID or feature column, and,
    reading local files whole, for rows of the wrong length and cells the model cannot take.

    The label column, present or not, is ignored, and so is any column the model does not read.
    """
    columns = shared_header(files, lambda path: csv_header(path, csv_format))
    missing = [name for name in model.kinds if name not in columns]
    if missing:
        lowered = {column.lower(): column for column in columns}
        close = {
            name: difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.5)
            for name in missing
        }
        meant = [f"{name!r} (did you mean {lowered[c[0]]!r}?)" for name, c in close.items() if c]
        raise BadInputError(
            f"feature column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} of the model at {model.path} "
            f"{'are' if len(missing) > 1 else 'is'} not in the data: add "
            f"{'them' if len(missing) > 1 else 'it'} (the model was trained on "
            f"{len(model.kinds)} feature columns: {', '.join(model.kinds)})."
            + (f" Misspelt: {', '.join(meant)}." if meant else "")
            + column_hint(files[0], missing[0], csv_format)
            + f" Columns: {', '.join(columns)}"
        )
    require_columns(list(id_columns), columns, "ID column", "data.exclude_columns")
    problems = []
    for path in files:
        if "://" not in path:
            problems += _cell_problems(path, columns, model, csv_format)
    if problems:
        raise BadInputError(
            "the CSV data cannot be scored as it is:\n  - " + "\n  - ".join(problems)
        )
    return columns


def _cell_problems(path, columns, model: ServedModel, csv_format) -> list[str]:
    """Rows of the wrong length and bad cells of one local file, a few of each, located."""
    malformed, bad = [], {}
    records = csv_records(path, csv_format)
    next(records, None)  # the header
    for line, record in records:
        if not record or record == [""]:
            continue
        if len(record) != len(columns):
            malformed.append(f"line {line} ({len(record)} fields)")
            continue
        row = dict(zip(columns, record, strict=True))
        for name, kind in model.kinds.items():
            try:
                value = feature_value(row[name], kind, csv_format)
            except ValueError:
                value, why = None, f"{row[name]!r} at line {line}"
            else:
                if value is not None or name not in model.required:
                    continue
                why = f"a missing value at line {line}"
            bad.setdefault(name, []).append(why)
    problems = []
    if malformed:
        problems.append(
            f"{path}: {len(malformed)} rows do not have the header's {len(columns)} fields: "
            f"{', '.join(malformed[:MAX_LISTED])}. Fix or remove them (or set data.delimiter)"
        )
    for name, where in bad.items():
        problems.append(
            f"{path}: column {name!r} was {_KIND_NAMES[model.kinds[name]]} in every training "
            f"row, but has {', '.join(where[:MAX_LISTED])}"
            + (f" and {len(where) - MAX_LISTED} more" if len(where) > MAX_LISTED else "")
        )
    return problems


def read_rows(path: str, csv_format: CsvFormat) -> Iterator[tuple[str, dict[str, str]]]:
    """("file:line", {column: cell}) of every data row of one CSV file."""
    records = csv_records(path, csv_format)
    _, header = next(records, (1, []))
    name = os.path.basename(path)
    for line, record in records:
        if record and record != [""]:
            yield f"{name}:{line}", dict(zip(header, record, strict=False))


def _format_score(score: float) -> str:
    return f"{score:.9g}"  # float32 exactly


def prediction_rows(
    sources: Sequence[str],
    ids: Sequence[Sequence[str]],
    outputs: Mapping[str, Any],
) -> Iterator[list[str]]:
    """Output rows (as output_columns orders them) of one scored batch; `outputs` holds the
    serving signature's outputs as numpy arrays."""
    for position, source in enumerate(sources):
        row = list(ids[position]) if ids[position] else [source]
        for scores_key, names_key in (("scores", "classes"), ("superclass_scores", "superclasses")):
            if scores_key not in outputs:
                continue
            scores = outputs[scores_key][position]
            names = outputs[names_key][position]
            top = int(scores.argmax())
            name = names[top]
            row += [name.decode() if isinstance(name, bytes) else str(name)]
            row += [_format_score(scores[top]), *map(_format_score, scores)]
        yield row


def csv_line(row: Sequence[str]) -> str:
    """One line of the predictions file: a plain, comma-separated UTF-8 CSV."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return buffer.getvalue()


class ScoreBatches(beam.DoFn):
    """Scores batches of (source, ids, serialized example) with the SavedModel's
    serving_default, loaded once per worker."""

    def __init__(self, model_path: str):
        self._model_path = model_path

    def setup(self):
        self._model = tf.saved_model.load(self._model_path)  # kept: the signature needs it
        self._serve = self._model.signatures["serving_default"]

    def process(self, batch: list[tuple[str, list[str], bytes]]) -> Iterable[str]:
        sources, ids, examples = zip(*batch, strict=True)
        outputs = {
            key: value.numpy()
            for key, value in self._serve(examples=tf.constant(list(examples))).items()
        }
        for row in prediction_rows(sources, ids, outputs):
            yield csv_line(row)


def _typed(source_and_row, kinds, id_columns, csv_format):
    """(source, ID cells, serialized example) of one row; a cell the model cannot take (in a
    remote file: local ones were checked whole) stops the job naming file, line and column."""
    source, row = source_and_row
    try:
        example = to_example(row, kinds, csv_format)
    except ValueError as error:
        raise BadInputError(f"{source}: {error}") from None
    return source, [row.get(name, "") for name in id_columns], example


def build_pipeline(
    root: beam.Pipeline,
    files: list[str],
    model: ServedModel,
    id_columns: Sequence[str],
    csv_format: CsvFormat,
    destination: str,
):
    """Reads the files' rows, types and batches them, scores and writes one CSV file."""
    header = csv_line(output_columns(model, id_columns))
    return (
        root
        | "Files" >> beam.Create(files)
        | "ReadRows" >> beam.FlatMap(read_rows, csv_format)
        | "Spread" >> beam.Reshuffle()
        | "ToExamples" >> beam.Map(_typed, model.kinds, list(id_columns), csv_format)
        | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=BATCH_SIZE)
        | "Score" >> beam.ParDo(ScoreBatches(model.path))
        | "Write"
        >> beam.io.WriteToText(destination, num_shards=1, shard_name_template="", header=header)
    )


def default_destination(output: str, data: str) -> str:
    """OUTPUT/predictions/<the data's name without .csv / .gz>.csv"""
    name = os.path.basename(data.rstrip("/"))
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return os.path.join(output, "predictions", f"{name or 'data'}.csv")


def predict(
    config: Config, model_path: str | None = None, destination: str | None = None
) -> tuple[str, ServedModel]:
    """Scores config.data.path with the model; returns (the predictions file, the model).

    The model is `model_path`, or else the newest one pushed under
    config.pipeline.output. Bad input raises BadInputError before anything is written.
    """
    from pipeline.pipeline import beam_pipeline_args  # TFX: only once the input is checked

    data = config.data
    if not data.path:
        raise BadInputError("no data given: pass --data PATH (a CSV file, .csv.gz, or a folder)")
    if not FileSystems.exists(data.path):
        raise BadInputError(f"data path {data.path!r} does not exist; check --data")
    files = csv_files(data.path)
    if not files:
        raise BadInputError(f"no non-empty CSV files under {data.path!r}; check --data")
    output = config.pipeline.output
    path = model_path or latest_model(output)
    model = served_model(path, data.label, data.exclude_columns)
    check_data(files, model, data.exclude_columns, data.csv_format())
    destination = destination or default_destination(output, data.path)
    folder = os.path.dirname(os.path.abspath(destination)) if "://" not in destination else None
    if folder:
        if os.path.isdir(destination):
            raise BadInputError(f"--predictions {destination} is a folder: name a file")
        os.makedirs(folder, exist_ok=True)
    staging = os.path.join(os.path.dirname(destination) or ".", f".incomplete-{uuid.uuid4().hex}")
    staged = os.path.join(staging, os.path.basename(destination))
    options = beam.options.pipeline_options.PipelineOptions(beam_pipeline_args(config))
    try:
        with beam.Pipeline(options=options) as root:
            build_pipeline(root, files, model, data.exclude_columns, data.csv_format(), staged)
        if FileSystems.exists(destination):
            FileSystems.delete([destination])
        FileSystems.rename([staged], [destination])
    finally:
        if FileSystems.exists(staging):
            FileSystems.delete([staging])
    return destination, model
