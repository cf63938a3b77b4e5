"""CsvExampleGen executor that also reads gzipped CSV and quoted headers.

TFX 1.21's CsvExampleGen cannot read `.csv.gz`: it reads the header with
`fileio.open`, which does not decompress, and iterates over Beam's file object,
which a compressed file does not support. It also splits the header on ','
without honouring quotes. This executor reads header and rows through Beam's
FileSystems (compression by extension, local or GCS) and reuses TFX's
conversion of parsed rows to tf.Examples.

Before Beam runs, `audit_csv` reads every row once in plain Python: rows with
the wrong number of fields, text or NaN / infinity in a numeric column and
columns with no values stop the run with the file and line to fix, instead of
being silently typed as strings or dropped. After Beam, the examples written
per split must add up to the rows read (RowCountError otherwise).

The train/eval split is stratified by the label: every class with two or more
examples lands in both splits, which a plain hash split does not promise for
the rare classes this pipeline is about.
"""

import codecs
import csv
import dataclasses
import hashlib
import json
import math
import os

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.filesystems import FileSystems
from google.protobuf import any_pb2, json_format, struct_pb2
from tfx.components.example_gen.base_example_gen_executor import (
    BaseExampleGenExecutor,
    _PartitionFn,
)
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils
from tfx_bsl.coders import csv_decoder

from components.row_counts import CSV_ROWS_PROPERTY, examples_per_split
from pipeline.errors import BadInputError, RowCountError

MAX_LISTED = 3  # problem locations listed per kind; the count says how many more


def read_csv_header(path: str) -> list[str]:
    """Returns the column names in the first line of a (possibly gzipped) CSV file."""
    with FileSystems.open(path) as raw:
        first_line = raw.readline().decode("utf-8-sig")
    return next(csv.reader([first_line]), [])


class _ReadCsvRecords(beam.DoFn):
    """Yields the CSV records of one file after its header, joining quoted newlines."""

    def process(self, path: str):
        with FileSystems.open(path) as file:
            file.readline()  # the header
            record = ""
            while line := file.readline():
                record += line.decode("utf-8")
                if record.count('"') % 2 == 0:
                    if record.strip():  # blank lines are not rows (audit_csv skips them too)
                        yield record
                    record = ""
            if record:
                raise ValueError(f"{path} ends inside a quoted field (unbalanced quotes)")


def _input_files(exec_properties: dict, split_pattern: str) -> list[str]:
    base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    return sorted(fileio.glob(os.path.join(base, split_pattern)))


@beam.ptransform_fn
def _csv_to_example(pipeline, exec_properties, split_pattern):
    """Reads the CSV files of one split into tf.Examples."""
    csv_files = _input_files(exec_properties, split_pattern)
    if not csv_files:
        raise RuntimeError(f"Split pattern {split_pattern} does not match any files.")
    column_names = read_csv_header(csv_files[0])
    for csv_file in csv_files[1:]:
        if read_csv_header(csv_file) != column_names:
            raise RuntimeError(f"{csv_file} has a different header than {csv_files[0]}.")

    parsed_lines = (
        pipeline
        | "CreateFilenames" >> beam.Create(csv_files)
        | "ReadCsvRecords" >> beam.ParDo(_ReadCsvRecords())
        | "ParseCSVLine" >> beam.ParDo(csv_decoder.ParseCSVLine(delimiter=","))
        | "ExtractParsedCSVLines" >> beam.Keys()
    )
    column_infos = beam.pvalue.AsSingleton(
        parsed_lines
        | "InferColumnTypes"
        >> beam.CombineGlobally(csv_decoder.ColumnTypeInferrer(column_names, skip_blank_lines=True))
    )
    return parsed_lines | "ToTFExample" >> beam.ParDo(
        tfx_csv._ParsedCsvToTfExample(),  # noqa: SLF001
        column_infos,
    )


@dataclasses.dataclass
class _Column:
    """What the audit saw in one column."""

    values: int = 0  # non-empty cells
    numbers: int = 0  # cells that parse as finite numbers
    text: list[str] = dataclasses.field(default_factory=list)  # first non-numbers, located
    non_finite: list[str] = dataclasses.field(default_factory=list)  # first NaN / inf, located
    text_count: int = 0
    non_finite_count: int = 0


def _located(problems: list[str], count: int) -> str:
    more = f" and {count - len(problems)} more" if count > len(problems) else ""
    return ", ".join(problems) + more


def audit_csv(files: list[str], skip_columns: set[str] = frozenset()) -> int:
    """Reads every row once; returns the number of data rows.

    Raises:
      BadInputError: naming file, line and column of malformed rows, text or
        NaN / infinity in a numeric column, empty columns or no rows at all.
    """
    header = read_csv_header(files[0])
    columns = {name: _Column() for name in header}
    rows, malformed, malformed_count = 0, [], 0
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
                    if name not in skip_columns and cell:
                        _audit_cell(columns[name], cell, where)
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
    return rows


def _audit_cell(column: _Column, cell: str, where: str) -> None:
    column.values += 1
    try:
        number = float(cell)
    except ValueError:
        column.text_count += 1
        if len(column.text) < MAX_LISTED:
            column.text.append(f"{cell!r} at {where}")
        return
    if math.isfinite(number):
        column.numbers += 1
    else:
        column.non_finite_count += 1
        if len(column.non_finite) < MAX_LISTED:
            column.non_finite.append(f"{cell!r} at {where}")


def example_gen_options(label: str, exclude_columns: list[str]) -> example_gen_pb2.CustomConfig:
    """ExampleGen's custom_config: the label to stratify by, the columns the audit skips."""
    options = struct_pb2.Struct()
    options.update({"label": label, "exclude_columns": exclude_columns})
    packed = any_pb2.Any()
    packed.Pack(options)
    return example_gen_pb2.CustomConfig(custom_config=packed)


def _options(exec_properties: dict) -> dict:
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    if not text:
        return {}
    config = proto_utils.json_to_proto(text, example_gen_pb2.CustomConfig())
    options = struct_pb2.Struct()
    config.custom_config.Unpack(options)
    return json_format.MessageToDict(options)


def _label_text(example: tf.train.Example, label: str) -> str:
    """The example's class as a grouping key; '' for a missing label."""
    feature = example.features.feature[label]
    kind = feature.WhichOneof("kind")
    values = getattr(feature, kind).value if kind else []
    return str(values[0]) if values else ""


def _stratify(class_examples, eval_share: float, buckets: list[int], split_config):
    """Yields (split index, example) for one class: train 0, eval 1.

    A class with n >= 2 examples puts round(n * eval_share) of them, at least one
    and at most n - 1, into eval, chosen by the hash of each example, so every
    such class is in both splits. A single example goes where TFX's hash split
    would put it.
    """
    _, examples = class_examples
    examples = list(examples)
    if len(examples) == 1:
        yield _PartitionFn(examples[0], 2, buckets, split_config), examples[0]
        return
    ranked = sorted(
        examples,
        key=lambda example: hashlib.sha256(example.SerializeToString(deterministic=True)).digest(),
    )
    evaluated = min(len(ranked) - 1, max(1, round(len(ranked) * eval_share)))
    for position, example in enumerate(ranked):
        yield int(position < evaluated), example


class Executor(BaseExampleGenExecutor):
    """ExampleGen executor for plain or gzipped CSV files with a header row."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802
        return _csv_to_example

    def GenerateExamplesByBeam(self, pipeline, exec_properties):  # noqa: N802
        """Splits train/eval stratified by the label (TFX's own split only hashes rows)."""
        label = _options(exec_properties).get("label")
        output_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output()
        )
        splits = output_config.split_config.splits
        if not label or [split.name for split in splits] != ["train", "eval"]:
            return super().GenerateExamplesByBeam(pipeline, exec_properties)
        input_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input()
        )
        buckets = [splits[0].hash_buckets, splits[0].hash_buckets + splits[1].hash_buckets]
        train, evaluation = (
            pipeline
            | "InputToRecord" >> _csv_to_example(exec_properties, input_config.splits[0].pattern)
            | "KeyByClass" >> beam.Map(lambda example: (_label_text(example, label), example))
            | "GroupByClass" >> beam.GroupByKey()
            | "Stratify"
            >> beam.FlatMap(
                _stratify,
                splits[1].hash_buckets / buckets[1],
                buckets,
                output_config.split_config,
            )
            | "SplitData" >> beam.Partition(lambda assigned, _: assigned[0], 2)
        )
        return {
            "train": train | "TrainExamples" >> beam.Values(),
            "eval": evaluation | "EvalExamples" >> beam.Values(),
        }

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        input_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input()
        )
        files = sorted(
            path
            for split in input_config.splits
            for path in _input_files(exec_properties, split.pattern)
        )
        skip = set(_options(exec_properties).get("exclude_columns", []))
        rows = audit_csv(files, skip) if files else 0
        super().Do(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        written = examples_per_split(examples)
        examples.set_int_custom_property(CSV_ROWS_PROPERTY, rows)
        if sum(written.values()) != rows:
            raise RowCountError(
                f"ExampleGen read {rows} CSV rows but wrote {sum(written.values())} examples "
                f"({json.dumps(written)}); rows were lost. Rerun; if it repeats, run with "
                "beam.direct_running_mode=in_memory and report the data that loses rows."
            )


class CsvExampleGen(FileBasedExampleGen):
    """Drop-in for tfx's CsvExampleGen that reads gzipped CSV files too."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
