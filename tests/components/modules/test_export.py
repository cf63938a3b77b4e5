"""The serving contract of the exported SavedModel, checked through plain tf.saved_model.load.

Clients, the Evaluator and the Pusher see only the export's signatures, so
these load it as they do and check what they rely on: the input name, the
output names, shapes and dtypes, class names in score order, post-hoc logit
adjustment, missing optional features, and that loading needs nothing but
TensorFlow.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.metrics import balanced_accuracy_score

from components.modules import assets, ensemble, features
from components.modules.class_weights import class_priors
from components.modules.ensemble import ProbabilityAverage
from components.modules.export import export_model
from components.modules.training import (
    SelectionSplit,
    TrainingData,
    build_and_compile,
    find_integer_categories,
    fit_gbt,
    fit_mlp,
)
from tests.components.modules import transformed_data as td

TAU = 1.0
TEMPERATURE = "temperature 2"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> td.TransformedData:
    return td.shared(tmp_path_factory)


def _train_and_export(data, root, taus, **training_changes):
    """A briefly trained model, exported once per post-hoc tau; ({tau: dir}, TrainingData)."""
    args = td.fn_args(data, str(root))
    hparams = td.custom_config(training=training_changes)["training"]
    transform_output = data.transform_output
    training = TrainingData.load(transform_output)
    model = build_and_compile(training, hparams, steps=1)
    train = SelectionSplit.load(args, transform_output, hparams).fit_batches(hparams)
    model.fit(train, epochs=5, verbose=0)
    dirs = {}
    for tau in taus:
        dirs[tau] = str(root / f"tau_{tau}")
        export_model(
            model,
            transform_output,
            training.class_names,
            -tau * np.log(class_priors(training.class_counts)),
            [td.LABEL, "row_id"],
            dirs[tau],
        )
    dirs[TEMPERATURE] = str(root / "temperature")  # no offsets, a temperature of 2
    export_model(
        model,
        transform_output,
        training.class_names,
        np.zeros(len(training.class_names)),
        [td.LABEL, "row_id"],
        dirs[TEMPERATURE],
        temperature=2.0,
    )
    return dirs, training


@pytest.fixture(scope="module")
def exported(data, tmp_path_factory):
    """One model, exported without and with post-hoc logit adjustment."""
    return _train_and_export(data, tmp_path_factory.mktemp("export"), (0.0, TAU))


@pytest.fixture(scope="module")
def loaded(exported):
    dirs, _ = exported
    return tf.saved_model.load(dirs[0.0])


def _serve(model, frame: pd.DataFrame, with_label: bool = False) -> dict[str, np.ndarray]:
    examples = tf.constant(td.serialized_examples(frame, with_label=with_label))
    return {k: v.numpy() for k, v in model.signatures["serving_default"](examples=examples).items()}


def test_serving_default_takes_examples_without_label_and_returns_scores_and_classes(
    loaded, exported, data
):
    _, training = exported
    signature = loaded.signatures["serving_default"]
    _, inputs = signature.structured_input_signature
    assert {name: (spec.dtype, spec.shape.as_list()) for name, spec in inputs.items()} == {
        "examples": (tf.string, [None])
    }
    outputs = _serve(loaded, data.eval)
    n, k = len(data.eval), len(training.class_names)
    assert outputs["scores"].dtype == np.float32 and outputs["scores"].shape == (n, k)
    np.testing.assert_allclose(outputs["scores"].sum(axis=1), 1.0, atol=1e-5)
    assert (outputs["scores"] >= 0).all()
    assert outputs["classes"].shape == (n, k)
    assert all([c.decode() for c in row] == training.class_names for row in outputs["classes"])


def test_the_columns_serving_default_parses_are_written_beside_the_model(exported, data):
    dirs, _ = exported
    served = assets.read_exported_json(dirs[0.0], assets.SERVING_FEATURES_FILE)
    raw = set(data.transform_output.raw_feature_spec())
    assert served == sorted(raw - {td.LABEL, "row_id"})


def test_transform_features_gives_the_label_index_in_score_order(loaded, exported, data):
    _, training = exported
    examples = tf.constant(td.serialized_examples(data.eval, with_label=True))
    transformed = loaded.signatures["transform_features"](examples=examples)
    labels = transformed[features.LABEL_KEY].numpy().ravel().tolist()
    assert labels == [training.class_names.index(name) for name in data.eval[td.LABEL]]
    assert {features.NUMERIC_KEY, "color_xf"} <= set(transformed)


def test_posthoc_tau_subtracts_tau_log_prior_from_the_logits(exported, data):
    dirs, training = exported
    log_scores = {
        tau: np.log(_serve(tf.saved_model.load(path), data.eval)["scores"])
        for tau, path in dirs.items()
    }
    log_priors = np.log(class_priors(training.class_counts))
    # softmax(z - tau log p) / softmax(z) = exp(-tau log p) / a per-row normaliser, so
    # log(scores_tau) - log(scores_0) + tau log p is the same for every class of a row.
    shift = log_scores[TAU] - log_scores[0.0] + TAU * log_priors
    np.testing.assert_allclose(shift - shift[:, :1], 0.0, atol=1e-4)


def test_a_temperature_divides_the_logits_and_keeps_the_predicted_class(exported, data):
    dirs, _ = exported
    plain = _serve(tf.saved_model.load(dirs[0.0]), data.eval)["scores"]
    tempered = _serve(tf.saved_model.load(dirs[TEMPERATURE]), data.eval)["scores"]
    # softmax(z / 2) = sqrt(softmax(z)), renormalised per row.
    expected = np.sqrt(plain) / np.sqrt(plain).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(tempered, expected, atol=1e-5)
    np.testing.assert_array_equal(tempered.argmax(axis=1), plain.argmax(axis=1))


def test_a_missing_optional_numeric_feature_scores_as_its_train_mean(loaded, data):
    rows = data.eval.head(3).copy()
    missing, at_mean = rows.copy(), rows.copy()
    missing["x2"] = np.nan
    at_mean["x2"] = data.train["x2"].mean()  # the mean of the present train values
    assert b"x2" not in td.serialized_examples(missing, with_label=False)[0]
    scores_missing = _serve(loaded, missing)["scores"]
    assert np.isfinite(scores_missing).all()
    np.testing.assert_allclose(scores_missing.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(scores_missing, _serve(loaded, at_mean)["scores"], atol=1e-5)


FRESH_PROCESS = """
import json, sys
for blocked in ("sklearn", "ydf"):  # what fits the trees is not there when they serve
    sys.modules[blocked] = None
import tensorflow as tf

OURS = ("keras_tuner", "tensorflow_transform", "tfx", "tfx_bsl", "components", "sklearn", "ydf")

def ours():
    return sorted(m for m, v in sys.modules.items() if v and m.split(".")[0] in OURS)

before = ours()
model = tf.saved_model.load(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    examples = tf.constant([f.read()])
scores = model.signatures["serving_default"](examples=examples)
print(json.dumps({"before": before, "after": ours(), "shape": scores["scores"].shape.as_list()}))
"""


def _serve_in_a_tensorflow_only_process(export_dir, training, data, tmp_path):
    example = tmp_path / "example.pb"
    example.write_bytes(td.serialized_examples(data.eval.head(1), with_label=False)[0])
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, export_dir, str(example)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: `components` is not importable from here
        env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shape"] == [1, len(training.class_names)]
    assert report["before"] == [] and report["after"] == [], report


def test_the_export_loads_and_serves_in_a_process_with_only_tensorflow(exported, data, tmp_path):
    dirs, training = exported
    _serve_in_a_tensorflow_only_process(dirs[TAU], training, data, tmp_path)


def test_the_piecewise_linear_model_also_serves_with_only_tensorflow(data, tmp_path):
    dirs, training = _train_and_export(data, tmp_path / "ple", (0.0,), numeric_encoding="ple")
    _serve_in_a_tensorflow_only_process(dirs[0.0], training, data, tmp_path)
    scores = _serve(tf.saved_model.load(dirs[0.0]), data.eval)["scores"]
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def families(data, tmp_path_factory):
    """Both families fitted as run_fn fits them (the MLP embeds the int column per value),
    and their plain average."""
    root = tmp_path_factory.mktemp("families")
    config = td.custom_config()
    hparams = config["training"]
    training = TrainingData.load(data.transform_output)
    split = SelectionSplit.load(td.fn_args(data, str(root)), data.transform_output, hparams)
    raw_spec = data.transform_output.raw_feature_spec()
    training.integer_categories = find_integer_categories(raw_spec, config, split.columns)
    assert training.integer_categories  # zone
    mlp, _ = fit_mlp(training, hparams, split, str(root / "logs"), tf.distribute.get_strategy())
    gbt, _, _ = fit_gbt(training, hparams, split)  # the served trees
    return {"mlp": mlp, "gbt": gbt, "ensemble": ProbabilityAverage(mlp, gbt, 0.5)}, training


@pytest.mark.parametrize("family", ["gbt", "ensemble"])
def test_every_family_serves_its_own_scores_with_only_tensorflow(family, families, data, tmp_path):
    members, training = families
    export_dir = str(tmp_path / family)
    export_model(
        members[family],
        data.transform_output,
        training.class_names,
        np.zeros(len(training.class_names)),
        [td.LABEL, "row_id"],
        export_dir,
    )
    _serve_in_a_tensorflow_only_process(export_dir, training, data, tmp_path)
    loaded = tf.saved_model.load(export_dir)
    served = _serve(loaded, data.eval)
    assert [c.decode() for c in served["classes"][0]] == training.class_names
    examples = tf.constant(td.serialized_examples(data.eval, with_label=True))
    transformed = loaded.signatures["transform_features"](examples=examples)
    transformed.pop(features.LABEL_KEY)
    expected = {name: ensemble.probabilities(members[name], transformed) for name in ("mlp", "gbt")}
    expected["ensemble"] = 0.5 * (expected["mlp"] + expected["gbt"])
    np.testing.assert_allclose(served["scores"], expected[family], atol=1e-5)
    predicted = np.array(training.class_names)[served["scores"].argmax(axis=1)]
    assert balanced_accuracy_score(data.eval[td.LABEL], predicted) > 0.8


def test_logit_offsets_are_added_to_the_logits_of_any_family(families, data, tmp_path):
    members, training = families
    offsets = np.array([0.0, 0.5, -1.0])
    log_scores = []
    for name, added in (("none", np.zeros(3)), ("offsets", offsets)):
        export_dir = str(tmp_path / name)
        export_model(
            members["gbt"],
            data.transform_output,
            training.class_names,
            added,
            [td.LABEL, "row_id"],
            export_dir,
        )
        log_scores.append(np.log(_serve(tf.saved_model.load(export_dir), data.eval)["scores"]))
    # As for tau: the difference less the offsets is one constant per row.
    shift = log_scores[1] - log_scores[0] - offsets
    np.testing.assert_allclose(shift - shift[:, :1], 0.0, atol=1e-4)
