"""The CSV ExampleGen executor: the same examples as TFX's, row counts, a stratified split."""

import glob
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from components import artifacts
from components.example_gen import component
from components.example_gen.component import Executor, example_gen_options
from components.example_gen.csv_audit import PLAIN_CSV, CsvFormat
from components.modules.errors import ExitCode, RowCountError
from tests.components.example_gen.csv_files import write_csv
from tests.conftest import REPO


def _run_example_gen(tmp_path, body, executor=None, name="data.csv.gz", csv_format=PLAIN_CSV):
    """The real CSV ExampleGen executor (audit, Beam, counts) on a small file.

    `body`: the rows after write_csv's header, or the whole file as bytes.
    """
    if isinstance(body, bytes):
        (tmp_path / name).write_bytes(body)
    else:
        write_csv(tmp_path, body, name)
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    split = example_gen_pb2.SplitConfig.Split
    exec_properties = {
        "input_base": str(tmp_path),
        "input_config": proto_utils.proto_to_json(
            example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="all", pattern=name)])
        ),
        "output_config": proto_utils.proto_to_json(
            example_gen_pb2.Output(
                split_config=example_gen_pb2.SplitConfig(
                    splits=[split(name="train", hash_buckets=4), split(name="eval", hash_buckets=1)]
                )
            )
        ),
        "custom_config": proto_utils.proto_to_json(example_gen_options("label", [], csv_format)),
    }
    (executor or Executor()).Do({}, {"examples": [examples]}, exec_properties)
    return examples


def _all_examples(examples, split: str = "*") -> list[tf.train.Example]:
    files = glob.glob(os.path.join(examples.uri, f"Split-{split}", "*"))
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return sorted(
        (tf.train.Example.FromString(record.numpy()) for record in records),
        key=lambda example: example.SerializeToString(deterministic=True),
    )


def test_examples_are_the_ones_tfx_csv_example_gen_writes(tmp_path):
    """Same tf.Examples as TFX's own executor: types, empty cells, quoting, Python-only numbers."""
    body = '1,2.5,x\n+4,,"y, quoted"\n 3,1e3,\n,-0.5,"multi\nline"\n' + "".join(
        f"{i},{i / 4},{'xyz'[i % 3]}\n" for i in range(30)
    )
    (tmp_path / "ours").mkdir()
    (tmp_path / "tfx").mkdir()
    ours = _all_examples(_run_example_gen(tmp_path / "ours", body, name="data.csv"))
    theirs = _all_examples(
        _run_example_gen(tmp_path / "tfx", body, tfx_csv_executor.Executor(), "data.csv")
    )
    assert len(ours) == 34 and ours == theirs
    kinds = {name: f.WhichOneof("kind") for name, f in ours[0].features.feature.items()}
    assert kinds == {"a": "int64_list", "b": "float_list", "label": "bytes_list"}


def test_delimiter_encoding_missing_values_and_decimal_mark_are_read_as_configured(tmp_path):
    cells = [(i, "" if i % 5 else str(i / 4), "xé"[i % 2]) for i in range(30)]
    body = "".join(f"{a},{b},{label}\n" for a, b, label in cells)
    written = "a;b;label\n" + "".join(
        f"{a};{b.replace('.', ',') or '?'};{label}\n" for a, b, label in cells
    )
    (tmp_path / "plain").mkdir()
    (tmp_path / "variant").mkdir()
    plain = _all_examples(_run_example_gen(tmp_path / "plain", body, name="data.csv"))
    variant = _run_example_gen(
        tmp_path / "variant",
        written.encode("latin-1"),
        None,
        "data.csv",
        CsvFormat(";", "latin-1", ("?",), ","),
    )
    assert _all_examples(variant) == plain
    assert {bytes(e.features.feature["label"].bytes_list.value[0]) for e in plain} == {
        b"x",
        "é".encode(),
    }


def test_example_gen_records_the_rows_it_read(tmp_path):
    body = "".join(f"{i},{i / 2},{'xy'[i % 2]}\n" for i in range(40))
    examples = _run_example_gen(tmp_path, body)
    assert examples.get_int_custom_property(artifacts.CSV_ROWS_PROPERTY) == 40
    assert sum(artifacts.examples_per_split(examples).values()) == 40


def _classes(examples, split: str) -> list[str]:
    files = glob.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*"))
    return [
        tf.train.Example.FromString(record.numpy()).features.feature["label"].bytes_list.value[0]
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    ]


def test_the_split_is_stratified_so_rare_classes_are_in_both_splits(tmp_path):
    """A 4:1 split of 1,000 rows; classes of 2, 3 and 5 rows all reach eval."""
    sizes = {"common": 990, "rare5": 5, "rare3": 3, "rare2": 2}
    body = "".join(f"{i},{i % 7},{name}\n" for name, n in sizes.items() for i in range(n))
    examples = _run_example_gen(tmp_path, body)
    train, evaluation = _classes(examples, "train"), _classes(examples, "eval")
    for name, n in sizes.items():
        in_eval = evaluation.count(name.encode())
        assert in_eval == min(n - 1, max(1, round(n / 5))), name
        assert train.count(name.encode()) == n - in_eval, name
    (tmp_path / "again").mkdir()
    assert _classes(_run_example_gen(tmp_path / "again", body), "eval") == evaluation  # stable


def test_the_split_is_the_same_in_another_process(tmp_path):
    """tfx_bsl writes features in a per-process order: the split must not depend on it."""
    body = "".join(f"{i},{i % 7},{'ab'[i % 2]}\n" for i in range(60))
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    here = _run_example_gen(tmp_path / "here", body)
    script = (
        f"import sys, pathlib; sys.path.insert(0, {REPO!r})\n"
        "from tests.components.example_gen.test_component import _run_example_gen\n"
        f"_run_example_gen(pathlib.Path({str(tmp_path / 'there')!r}), {body!r})"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    there = standard_artifacts.Examples()
    there.uri = str(tmp_path / "there" / "examples")
    for split in ("train", "eval"):
        assert _all_examples(there, split) == _all_examples(here, split)


def test_classes_above_the_ranked_size_are_hash_split(tmp_path, monkeypatch):
    """Large classes skip the in-memory ranking: TFX's hash split, close to 4:1."""
    monkeypatch.setattr(component, "RANKED_CLASS_SIZE", 100)
    sizes = {"common": 990, "rare2": 2}
    body = "".join(f"{i},{i % 7},{name}\n" for name, n in sizes.items() for i in range(n))
    examples = _run_example_gen(tmp_path, body)
    train, evaluation = _classes(examples, "train"), _classes(examples, "eval")
    assert evaluation.count(b"rare2") == 1 and train.count(b"rare2") == 1  # still ranked
    assert 150 < evaluation.count(b"common") < 250
    assert train.count(b"common") + evaluation.count(b"common") == 990


def test_example_gen_fails_when_examples_and_rows_differ(tmp_path, monkeypatch):
    """Simulates a runner that drops rows: the executor's own count must catch it."""
    monkeypatch.setattr(artifacts, "examples_per_split", lambda _: {"train": 1, "eval": 1})
    with pytest.raises(RowCountError, match="read 40 CSV rows but wrote 2 examples") as error:
        _run_example_gen(tmp_path, "".join(f"{i},{i},{'xy'[i % 2]}\n" for i in range(40)))
    assert error.value.exit_code == ExitCode.ROW_COUNT_MISMATCH
