"""Batch prediction: typing cells as ExampleGen did, the output columns, the input checks, and
the Beam pipeline end to end on a small stand-in SavedModel with the served model's contract."""

import csv
import gzip
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from components.example_gen.csv_audit import CsvFormat
from components.modules import assets
from components.modules.errors import BadInputError
from pipeline.config import load_config
from pipeline.predict import (
    ROW,
    ServedModel,
    check_data,
    default_destination,
    feature_value,
    latest_model,
    output_columns,
    predict,
    prediction_rows,
    served_model,
    to_example,
)

INT, FLOAT, BYTES = schema_pb2.INT, schema_pb2.FLOAT, schema_pb2.BYTES
CLASSES = ["low", "high"]


def test_cells_are_typed_by_the_schema_like_example_gen():
    assert feature_value("3", INT) == 3 and isinstance(feature_value("3", INT), int)
    assert feature_value("2.5", FLOAT) == 2.5
    assert feature_value("3", FLOAT) == 3.0
    assert feature_value("3", BYTES) == b"3"
    assert feature_value("é", BYTES) == "é".encode()
    assert feature_value("", FLOAT) is None
    assert feature_value("NA", FLOAT, CsvFormat(missing_values=("NA",))) is None
    assert feature_value("NA", BYTES) == b"NA"  # a marker only where data.missing_values says
    assert feature_value("2,5", FLOAT, CsvFormat(decimal=",")) == 2.5
    assert feature_value("a,b", BYTES, CsvFormat(decimal=",")) == b"a,b"


def test_pandas_values_are_typed_too():
    assert feature_value(float("nan"), FLOAT) is None
    assert feature_value(None, BYTES) is None
    assert feature_value(np.int64(7), INT) == 7
    assert feature_value(4.0, INT) == 4  # an int column with missing values, read by pandas
    assert feature_value(np.float64(0.5), FLOAT) == 0.5


@pytest.mark.parametrize(
    ("cell", "kind"), [("2.5", INT), ("abc", INT), ("abc", FLOAT), ("nan", FLOAT), ("inf", FLOAT)]
)
def test_cells_the_model_cannot_take_raise(cell, kind):
    with pytest.raises(ValueError):
        feature_value(cell, kind)
    with pytest.raises(ValueError):
        feature_value(2.5, INT)


def test_examples_hold_the_model_columns_typed_and_leave_missing_values_out():
    kinds = {"n": INT, "x": FLOAT, "c": BYTES, "gap": FLOAT}
    row = {"n": "4", "x": "1.5", "c": "red", "gap": "", "target": "low", "id": "r1"}
    example = tf.train.Example.FromString(to_example(row, kinds))
    features = example.features.feature
    assert set(features) == {"n", "x", "c"}  # no label, no ID, no missing value
    assert list(features["n"].int64_list.value) == [4]
    assert list(features["x"].float_list.value) == [1.5]
    assert list(features["c"].bytes_list.value) == [b"red"]


def test_a_cell_the_model_cannot_take_names_its_column():
    with pytest.raises(ValueError, match=r"column 'n' holds '2.5', not integers"):
        to_example({"n": "2.5"}, {"n": INT})


def _model(superclasses=()) -> ServedModel:
    kinds = {"x": FLOAT, "c": BYTES}
    return ServedModel("m", kinds, frozenset({"x"}), CLASSES, list(superclasses))


def test_output_columns_are_ids_prediction_and_every_class_score():
    assert output_columns(_model(), ["id", "site"]) == [
        "id",
        "site",
        "predicted_class",
        "score",
        "score_low",
        "score_high",
    ]
    assert output_columns(_model(), [])[0] == ROW
    assert output_columns(_model(["all"]), ["id"])[-3:] == [
        "predicted_superclass",
        "superclass_score",
        "superclass_score_all",
    ]


def test_prediction_rows_take_the_top_class_and_write_float32_exactly():
    scores = np.array([[0.25, 0.75], [0.9, 0.1]], np.float32)
    outputs = {"scores": scores, "classes": np.array([[b"low", b"high"]] * 2)}
    rows = list(prediction_rows(["f.csv:2", "f.csv:3"], [["a"], ["b"]], outputs))
    assert rows[0] == ["a", "high", "0.75", "0.25", "0.75"]
    assert rows[1][:2] == ["b", "low"]
    assert np.float32(float(rows[1][2])) == scores[1, 0]
    (no_ids,) = prediction_rows(["f.csv:2"], [[]], {k: v[:1] for k, v in outputs.items()})
    assert no_ids[0] == "f.csv:2"


def _write(path, text):
    path.write_text(text)
    return [str(path)]


def test_a_missing_feature_column_is_named_with_the_fix(tmp_path):
    files = _write(tmp_path / "new.csv", "id,c,target\n1,red,low\n")
    with pytest.raises(BadInputError) as error:
        check_data(files, _model(), ["id"], CsvFormat())
    message = str(error.value)
    assert message.startswith("feature column 'x' of the model at m is not in the data: add it")
    assert message.endswith("Columns: id, c, target")
    files = _write(tmp_path / "new.csv", "id,C,target\n1,red,low\n")
    with pytest.raises(BadInputError) as error:
        check_data(files, _model(), ["id"], CsvFormat())
    assert "feature columns 'x', 'c' of the model at m are not in the data: add them" in str(
        error.value
    )
    assert "Misspelt: 'c' (did you mean 'C'?)" in str(error.value)


def test_a_semicolon_file_read_as_commas_gets_the_delimiter_hint(tmp_path):
    files = _write(tmp_path / "new.csv", "id;x;c\n1;2.5;red\n")
    with pytest.raises(BadInputError, match=r"semicolon-delimited: set data.delimiter=';'"):
        check_data(files, _model(), ["id"], CsvFormat())
    assert check_data(files, _model(), ["id"], CsvFormat(delimiter=";")) == ["id", "x", "c"]


def test_a_zip_file_is_not_a_csv(tmp_path):
    path = tmp_path / "new.csv"
    path.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(BadInputError, match="is a zip archive .*not a CSV file"):
        check_data([str(path)], _model(), [], CsvFormat())


def test_missing_id_column_names_the_config_key(tmp_path):
    files = _write(tmp_path / "new.csv", "x,c\n1,red\n")
    with pytest.raises(BadInputError, match="ID column 'id' is not in the data; fix data.exclude"):
        check_data(files, _model(), ["id"], CsvFormat())


def test_bad_cells_and_rows_are_located_and_the_label_is_ignored(tmp_path):
    files = _write(tmp_path / "new.csv", "x,c,target\n1.5,red,low\nabc,red,\n,blue\n,blue,x\n")
    with pytest.raises(BadInputError) as error:
        check_data(files, _model(), [], CsvFormat())
    message = str(error.value)
    assert "1 rows do not have the header's 3 fields: line 4 (2 fields)" in message
    assert "column 'x' was numbers in every training row, but has 'abc' at line 3" in message
    assert "a missing value at line 5" in message
    assert "target" not in message.split("Columns")[0].replace("x,c,target", "")
    good = _write(tmp_path / "good.csv", "c,x\nred,1\n,2\n")  # c may be missing, label absent
    assert check_data(good, _model(), [], CsvFormat()) == ["c", "x"]


class _StandIn(tf.Module):
    """serving_default as export.py serves it: examples -> scores, classes (and superclasses)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        spec = {
            "x": tf.io.FixedLenFeature([1], tf.float32),
            "c": tf.io.VarLenFeature(tf.string),
        }
        raw = tf.io.parse_example(examples, spec)
        is_red = tf.equal(tf.sparse.to_dense(raw["c"], ""), "red")
        red = tf.cast(tf.reduce_any(is_red, axis=1, keepdims=True), tf.float32)
        logits = tf.concat([-raw["x"], raw["x"] + red], axis=1)
        scores = tf.nn.softmax(logits)
        rows = tf.shape(scores)[0]
        return {
            "scores": scores,
            "classes": tf.tile(tf.constant([CLASSES]), [rows, 1]),
            "superclass_scores": tf.reduce_sum(scores, axis=1, keepdims=True),
            "superclasses": tf.tile(tf.constant([["all"]]), [rows, 1]),
        }


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    """An output folder with two pushed stand-in models; the newer one is used."""
    root = tmp_path_factory.mktemp("run")
    for version in ("99", "100"):
        path = str(root / "serving" / version)
        module = _StandIn()
        tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
        schema = schema_pb2.Schema()
        schema.feature.add(name="target", type=BYTES)
        x = schema.feature.add(name="x", type=FLOAT)
        x.shape.dim.add(size=1)
        schema.feature.add(name="c", type=BYTES)
        schema.feature.add(name="id", type=INT)
        assets.write_json(path, assets.CLASS_NAMES_FILE, CLASSES)
        assets.write_json(path, assets.SERVING_FEATURES_FILE, ["c", "x"])
        assets.write_json(
            path, assets.HIERARCHY_FILE, {"superclasses": ["all"], "parent_index": [0, 0]}
        )
        tfdv.write_schema_text(schema, os.path.join(path, assets.SCHEMA_FILE))
    (root / "serving" / ".incomplete-1000").mkdir()
    return str(root)


def _config(data, output, *overrides):
    return load_config(None, list(overrides), data__path=str(data), pipeline__output=output)


def test_the_newest_pushed_model_is_found_and_described(output, tmp_path):
    path = latest_model(output)
    assert path == os.path.join(output, "serving", "100")
    model = served_model(path)
    assert model.kinds == {"x": FLOAT, "c": BYTES}  # the served columns, not label nor ID
    assert model.required == {"x"} and model.class_names == CLASSES
    assert model.superclasses == ["all"]
    with pytest.raises(BadInputError, match="no pushed model under .*pass --model DIR"):
        latest_model(str(tmp_path))
    with pytest.raises(BadInputError, match="is not a SavedModel directory"):
        served_model(str(tmp_path))


def test_predict_scores_every_row_through_the_serving_signature(output, tmp_path):
    data = tmp_path / "new"
    data.mkdir()
    (data / "a.csv").write_text('id,x,c,target\n7,0.5,red,low\n8,-1,"blue, dark",high\n')
    with gzip.open(data / "b.csv.gz", "wt") as f:
        f.write("id,x,c,target\n9,2,,\n")  # c missing: allowed; the label is ignored
    written, model = predict(_config(data, output, "data.exclude_columns=[id]"))
    assert written == default_destination(output, str(data))
    assert written == os.path.join(output, "predictions", "new.csv")
    assert os.listdir(os.path.dirname(written)) == ["new.csv"]  # no staging left
    with open(written) as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    assert list(next(iter(rows.values()))) == output_columns(model, ["id"])
    assert set(rows) == {"7", "8", "9"}
    serve = tf.saved_model.load(model.path).signatures["serving_default"]
    for id_, x, c in (("7", 0.5, b"red"), ("8", -1.0, b"blue, dark"), ("9", 2.0, None)):
        features = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))}
        if c:
            features["c"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[c]))
        example = tf.train.Example(features=tf.train.Features(feature=features))
        scores = serve(examples=tf.constant([example.SerializeToString()]))["scores"].numpy()[0]
        written_scores = [float(rows[id_][f"score_{name}"]) for name in CLASSES]
        np.testing.assert_allclose(written_scores, scores, atol=1e-6)
        assert rows[id_]["predicted_class"] == CLASSES[scores.argmax()]
        assert float(rows[id_]["score"]) == pytest.approx(scores.max(), abs=1e-6)
        assert rows[id_]["predicted_superclass"] == "all"
        assert float(rows[id_]["superclass_score_all"]) == pytest.approx(1, abs=1e-6)


def test_predict_without_ids_names_the_rows_and_writes_where_told(output, tmp_path):
    data = tmp_path / "new.csv"
    data.write_text("x,c\n1,red\n")
    destination = tmp_path / "out" / "p.csv"
    written, _ = predict(_config(data, output), latest_model(output), str(destination))
    with open(written) as f:
        (row,) = csv.DictReader(f)
    assert row[ROW] == "new.csv:2"


def test_bad_input_writes_nothing(output, tmp_path):
    data = tmp_path / "new.csv"
    data.write_text("id,c\n1,red\n")
    destination = tmp_path / "out" / "p.csv"
    with pytest.raises(BadInputError, match="feature column 'x'"):
        predict(_config(data, output, "data.exclude_columns=[id]"), None, str(destination))
    assert not os.path.exists(tmp_path / "out")


def test_files_of_a_folder_must_share_a_header(tmp_path):
    first = _write(tmp_path / "a.csv", "x,c\n1,red\n")
    second = _write(tmp_path / "b.csv", "c,x\nred,1\n")
    with pytest.raises(BadInputError, match="b.csv has a different header than .*a.csv"):
        check_data(first + second, _model(), [], CsvFormat())


def test_predict_runs_on_the_configured_beam_runner_with_worker_processes(output, tmp_path):
    data = tmp_path / "new.csv"
    data.write_text("x;c\n" + "".join(f"{i},5;red\n" for i in range(50)))
    config = _config(
        data,
        output,
        "beam.direct_running_mode=multi_processing",
        "beam.direct_num_workers=2",
        "data.delimiter=;",
        "data.decimal=,",
    )
    written, _ = predict(config, None, str(tmp_path / "p.csv"))
    with open(written) as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(row[ROW].split(":")[1]) for row in rows) == list(range(2, 52))
    assert all(row["predicted_class"] == "high" for row in rows)  # x >= 0.5 and red
