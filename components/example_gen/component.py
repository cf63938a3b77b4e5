"""CsvExampleGen executor that also reads gzipped CSV and quoted headers.

TFX 1.21's CsvExampleGen cannot read `.csv.gz`: it reads the header with
`fileio.open`, which does not decompress, and iterates over Beam's file object,
which a compressed file does not support. It also splits the header on ','
without honouring quotes. This executor reads header and rows through Beam's
FileSystems (local or GCS), decompressed by extension with Python's own
decompressors, which raise on a truncated file, in the delimiter, encoding and
missing-value markers of the data section.

Before Beam runs, components.example_gen.csv_audit reads every row once in
plain Python and stops the run on any problem with the file and line to fix.
It also types each column, so Beam then parses and encodes whole blocks of
rows in C++ (pyarrow, tfx_bsl) instead of one Python call per cell: ExampleGen
was the slowest step on large data.
After Beam, the examples written per split must add up to the rows read
(RowCountError otherwise).

The train/eval split is stratified by the label: every class with two or more
examples lands in both splits, which a plain hash split does not promise for
the rare classes this pipeline is about. Classes up to RANKED_CLASS_SIZE rows
are split exactly (ranked by a hash of each row's text, in memory); larger ones
by a hash split like TFX's on the same hash, which is close to the ratio at
that size and needs no grouping, so memory stays flat on large data.
"""

import dataclasses
import hashlib
import json
import os

import apache_beam as beam
import numpy as np
import pyarrow as pa
from google.protobuf import any_pb2, json_format, struct_pb2
from pyarrow import compute as arrow_compute
from pyarrow import csv as arrow_csv
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils
from tfx_bsl.coders import example_coder

from components import artifacts
from components.example_gen.csv_audit import (
    PLAIN_CSV,
    CsvAudit,
    CsvFormat,
    audit_csv,
    open_csv_bytes,
    read_csv_header,
)
from components.modules.errors import RowCountError

RANKED_CLASS_SIZE = 5000  # classes up to this size are split exactly, in memory
AUDIT_KEY = "csv_audit"  # exec property: the audit's column types and class sizes, for Beam
ARROW_TYPES = {"int": pa.int64(), "float": pa.float32(), "bytes": pa.binary()}
PYTHON_PARSERS = {"int": int, "float": float}  # strings to bytes always cast


class _ArrowReadable:
    """Beam's file object as pyarrow reads it: Beam's CompressedFile has `closed()` as a method."""

    closed = False

    def __init__(self, file):
        self.read = file.read


def _read_csv_blocks(path: str, header: list[str], csv_format: CsvFormat):
    """Yields the rows after the header in blocks, every cell as a string; missing cells null."""
    with open_csv_bytes(path) as file:  # decompressed as the audit reads it
        yield from arrow_csv.open_csv(
            pa.PythonFile(_ArrowReadable(file), mode="r"),
            read_options=arrow_csv.ReadOptions(
                column_names=header, skip_rows=1, encoding=csv_format.encoding
            ),
            parse_options=arrow_csv.ParseOptions(
                delimiter=csv_format.delimiter, newlines_in_values=True
            ),
            convert_options=arrow_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=["", *csv_format.missing_values],
                strings_can_be_null=True,
            ),
        )


def _typed(strings: pa.Array, kind: str, decimal: str = ".") -> pa.Array:
    """The column as int64, float32 or bytes, each cell parsed as Python's int() / float() would
    (after the decimal mark became '.')."""
    if kind != "bytes" and decimal != ".":
        strings = arrow_compute.replace_substring(strings, decimal, ".")
    try:
        return strings.cast(ARROW_TYPES[kind])
    except pa.ArrowInvalid:  # e.g. '+4' or ' 3': Python accepts them, Arrow's parser does not
        parse = PYTHON_PARSERS[kind]
        return pa.array(
            [None if cell is None else parse(cell) for cell in strings.to_pylist()],
            ARROW_TYPES[kind],
        )


def _feature_lists(column: pa.Array) -> pa.ListArray:
    """One value per row, an empty list for an empty cell (TFX's way to write a missing value)."""
    present = np.asarray(column.is_valid(), dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(present)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), column.drop_null())


def _row_digests(block: pa.RecordBatch) -> list[bytes]:
    """sha256 of each row's text: the split key. Serialized examples are no key: tfx_bsl
    writes their features in an order that changes from process to process."""
    rows = arrow_compute.binary_join_element_wise(
        *block.columns, "\x1f", null_handling="replace", null_replacement=""
    )
    return [hashlib.sha256(row.encode()).digest() for row in rows.to_pylist()]


class _CsvFileToExamples(beam.DoFn):
    """Reads one CSV file; yields (class, (row digest, serialized tf.Example)) per row.

    The class is the raw label cell ('' if empty), as audit_csv counts it.
    """

    def __init__(self, column_kinds: dict[str, str], label: str, csv_format: CsvFormat):
        self._column_kinds = column_kinds
        self._label = label
        self._csv_format = csv_format

    def setup(self):
        self._encoder = example_coder.RecordBatchToExamplesEncoder()

    def process(self, path: str):
        header = read_csv_header(path, self._csv_format)
        for block in _read_csv_blocks(path, header, self._csv_format):
            columns = {
                name: _typed(block.column(name), self._column_kinds[name], self._csv_format.decimal)
                for name in header
            }
            features = pa.RecordBatch.from_arrays(
                [_feature_lists(column) for column in columns.values()], header
            )
            examples = self._encoder.encode(features)
            classes = [
                "" if cell is None else cell for cell in block.column(self._label).to_pylist()
            ]
            yield from zip(classes, zip(_row_digests(block), examples, strict=True), strict=True)


def _input_files(exec_properties: dict, split_pattern: str) -> list[str]:
    base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    return sorted(fileio.glob(os.path.join(base, split_pattern)))


@beam.ptransform_fn
def _csv_to_keyed_examples(pipeline, exec_properties, split_pattern, label, csv_format):
    """Reads the CSV files of one split into (class, (row digest, serialized tf.Example))."""
    csv_files = _input_files(exec_properties, split_pattern)
    if not csv_files:
        raise RuntimeError(f"Split pattern {split_pattern} does not match any files.")
    column_names = read_csv_header(csv_files[0], csv_format)
    for csv_file in csv_files[1:]:
        if read_csv_header(csv_file, csv_format) != column_names:
            raise RuntimeError(f"{csv_file} has a different header than {csv_files[0]}.")
    column_kinds = json.loads(exec_properties[AUDIT_KEY])["column_kinds"]
    return (
        pipeline
        | "CreateFilenames" >> beam.Create(csv_files)
        | "CsvToExamples" >> beam.ParDo(_CsvFileToExamples(column_kinds, label, csv_format))
    )


def example_gen_options(
    label: str, exclude_columns: list[str], csv_format: CsvFormat = PLAIN_CSV
) -> example_gen_pb2.CustomConfig:
    """ExampleGen's custom_config: the label to stratify by, the columns the audit skips and
    how the files are written."""
    options = struct_pb2.Struct()
    options.update({"label": label, "exclude_columns": exclude_columns, **csv_format.to_dict()})
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


def _hash_split(digest: bytes, eval_buckets: int, buckets: int) -> int:
    """A hash split like TFX's, on the row digest: eval (1) for eval_buckets of every `buckets`."""
    return int(int.from_bytes(digest, "big") % buckets < eval_buckets)


def _ranked_split(class_examples, eval_buckets: int, buckets: int):
    """Yields (split index, example) for one class: train 0, eval 1.

    A class with n >= 2 examples puts round(n * eval_buckets / buckets) of them,
    at least one and at most n - 1, into eval, chosen by the row digests, so every
    such class is in both splits. A single example goes where the hash split
    puts it.
    """
    _, examples = class_examples
    ranked = sorted(examples)  # by digest
    if len(ranked) == 1:
        digest, example = ranked[0]
        yield _hash_split(digest, eval_buckets, buckets), example
        return
    evaluated = min(len(ranked) - 1, max(1, round(len(ranked) * eval_buckets / buckets)))
    for position, (_, example) in enumerate(ranked):
        yield int(position < evaluated), example


class Executor(BaseExampleGenExecutor):
    """ExampleGen executor for plain or gzipped CSV files with a header row."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802
        """Not used: GenerateExamplesByBeam reads the CSV itself, to stratify the split."""
        raise NotImplementedError("GenerateExamplesByBeam reads the CSV files")

    def GenerateExamplesByBeam(self, pipeline, exec_properties):  # noqa: N802
        """Splits train/eval stratified by the label (TFX's own split only hashes rows)."""
        options = _options(exec_properties)
        label = options.get("label")
        output_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output()
        )
        splits = output_config.split_config.splits
        if not label or [split.name for split in splits] != ["train", "eval"]:
            raise ValueError(
                "this CsvExampleGen splits by class into train and eval: give it the label "
                "(example_gen_options) and two output splits named train and eval"
            )
        input_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input()
        )
        eval_buckets = splits[1].hash_buckets
        buckets = splits[0].hash_buckets + eval_buckets
        labelled = pipeline | "InputToRecord" >> _csv_to_keyed_examples(
            exec_properties, input_config.splits[0].pattern, label, CsvFormat.from_dict(options)
        )
        sizes = json.loads(exec_properties[AUDIT_KEY])["class_sizes"]
        small, large = labelled | "BySize" >> beam.Partition(
            lambda keyed, _: int(sizes[keyed[0]] > RANKED_CLASS_SIZE), 2
        )
        ranked = (
            small
            | "GroupByClass" >> beam.GroupByKey()
            | "RankedSplit" >> beam.FlatMap(_ranked_split, eval_buckets, buckets)
        )
        hashed = large | "HashSplit" >> beam.Map(
            lambda keyed: (_hash_split(keyed[1][0], eval_buckets, buckets), keyed[1][1])
        )
        train, evaluation = (
            (ranked, hashed)
            | "Assigned" >> beam.Flatten()
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
        options = _options(exec_properties)
        skip = set(options.get("exclude_columns", []))
        audit = CsvAudit(0, {}, {})
        if files:
            audit = audit_csv(files, skip, options.get("label"), CsvFormat.from_dict(options))
        exec_properties = {**exec_properties, AUDIT_KEY: json.dumps(dataclasses.asdict(audit))}
        super().Do(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        written = artifacts.examples_per_split(examples)
        examples.set_int_custom_property(artifacts.CSV_ROWS_PROPERTY, audit.rows)
        if sum(written.values()) != audit.rows:
            raise RowCountError(
                f"ExampleGen read {audit.rows} CSV rows but wrote {sum(written.values())} examples "
                f"({json.dumps(written)}); rows were lost. Rerun; if it repeats, run with "
                "beam.direct_running_mode=in_memory and report the data that loses rows."
            )


class CsvExampleGen(FileBasedExampleGen):
    """Drop-in for tfx's CsvExampleGen that reads gzipped CSV files too."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
