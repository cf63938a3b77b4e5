"""A tiny imbalanced data set pushed through the real Transform, and FnArgs over it.

`build` runs `preprocessing_fn` with tf.Transform on in-memory Beam and writes
what the Transform component would: the transform graph with the raw metadata
beside it, and the transformed train and eval splits as gzipped TFRecords of
tf.Examples under `Split-<name>/`.
`fn_args` then builds the Trainer's (or Tuner's) FnArgs from those artifacts
with TFX's own `get_common_fn_args`, so the module code reads the files through
TFX's data accessor, as it does in the pipeline.

Three classes of 150, 60 and 15 rows that the two float columns separate
well; `color` and the int-coded `zone` (1, 2 or 3) are noise, `row_id` is
excluded, `x2` is missing in a few rows.
"""

import dataclasses
import functools
import json
import os

import apache_beam as beam
import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.modules.preprocessing import preprocessing_fn
from pipeline.config import Config

LABEL = "target"
CLASS_SIZES = {"common": 150, "middle": 60, "rare": 15}
CENTERS = {"common": (0.0, 0.0), "middle": (4.0, 0.0), "rare": (0.0, 4.0)}
EVAL_SHARE = 0.2
RAW_FEATURE_SPEC = {
    "x1": tf.io.FixedLenFeature([1], tf.float32),
    "x2": tf.io.VarLenFeature(tf.float32),  # optional: missing in some rows
    "color": tf.io.FixedLenFeature([1], tf.string),
    "zone": tf.io.FixedLenFeature([1], tf.int64),  # an int code: the MLP embeds each value
    "row_id": tf.io.FixedLenFeature([1], tf.int64),  # excluded from the features
    LABEL: tf.io.FixedLenFeature([1], tf.string),
}
TRANSFORM_CONFIG = {
    "label": LABEL,
    "exclude_columns": ["row_id"],
    "categorical_columns": [],
    "quantile_positions": True,  # for the tests of numeric_encoding: ple
}
FAST_TRAINING = {"epochs": 15, "batch_size": 32, "learning_rate": 0.01}


def make_frame(seed: int = 0) -> pd.DataFrame:
    """The raw rows, shuffled; x2 is NaN (missing) in about 5% of them."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, size in CLASS_SIZES.items():
        center = np.array(CENTERS[name])
        points = center + rng.normal(0.0, 0.7, size=(size, 2))
        parts.append(
            pd.DataFrame(
                {
                    "x1": points[:, 0],
                    "x2": points[:, 1],
                    "color": rng.choice(["red", "green", "blue"], size),
                    LABEL: name,
                }
            )
        )
    frame = pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.loc[rng.random(len(frame)) < 0.05, "x2"] = np.nan
    frame["zone"] = np.random.default_rng(seed + 1).integers(1, 4, len(frame))  # own draws
    frame.insert(0, "row_id", np.arange(len(frame)))
    return frame


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and eval parts, stratified: the last EVAL_SHARE of every class is eval."""
    position = frame.groupby(LABEL).cumcount()
    size = frame[LABEL].map(frame[LABEL].value_counts())
    is_eval = position >= np.round(size * (1 - EVAL_SHARE))
    return frame[~is_eval].reset_index(drop=True), frame[is_eval].reset_index(drop=True)


def raw_rows(frame: pd.DataFrame) -> list[dict]:
    """tf.Transform instance dicts; a NaN becomes an empty (missing) value list."""
    return [
        {name: [] if pd.isna(value) else [value] for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


def serialized_examples(frame: pd.DataFrame, with_label: bool = True) -> list[bytes]:
    """Raw tf.Examples as a client sends them; without the label, also without row_id."""
    skipped = set() if with_label else {LABEL, "row_id"}
    examples = []
    for row in raw_rows(frame):
        feature = {}
        for name, values in row.items():
            if name in skipped or not values:
                continue
            if isinstance(values[0], str):
                feature[name] = tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[v.encode() for v in values])
                )
            elif isinstance(values[0], (int, np.integer)):
                feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
            else:
                feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        examples.append(
            tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
        )
    return examples


@dataclasses.dataclass
class TransformedData:
    train: pd.DataFrame
    eval: pd.DataFrame
    transform_dir: str  # the TransformGraph artifact's URI
    examples_dir: str  # the transformed Examples artifact's URI
    schema_dir: str  # the Schema artifact's URI (holds schema.pbtxt)

    @property
    def transform_output(self) -> tft.TFTransformOutput:
        return tft.TFTransformOutput(self.transform_dir)

    def split_files(self, split_name: str) -> str:
        return os.path.join(self.examples_dir, f"Split-{split_name}", "*")


def build(
    root: str,
    seed: int = 0,
    frame: pd.DataFrame | None = None,
    raw_feature_spec: dict | None = None,
    transform_config: dict | None = None,
) -> TransformedData:
    """Runs analyze-and-transform on the train part, transform on eval; writes the artifacts.

    `frame` (with its `raw_feature_spec`, label LABEL): real rows instead of make_frame's;
    `transform_config`: Transform's custom_config, TRANSFORM_CONFIG by default.
    """
    train, evaluation = split(make_frame(seed) if frame is None else frame)
    raw_feature_spec = raw_feature_spec or RAW_FEATURE_SPEC
    data = TransformedData(
        train=train,
        eval=evaluation,
        transform_dir=os.path.join(root, "transform_graph"),
        examples_dir=os.path.join(root, "transformed_examples"),
        schema_dir=os.path.join(root, "schema"),
    )
    schema = schema_utils.schema_from_feature_spec(raw_feature_spec)
    os.makedirs(data.schema_dir)
    io_utils.write_pbtxt_file(os.path.join(data.schema_dir, "schema.pbtxt"), schema)
    metadata = dataset_metadata.DatasetMetadata(schema)
    with beam.Pipeline(runner="FnApiRunner") as pipeline:
        with tft_beam.Context(temp_dir=os.path.join(root, "tft_tmp")):
            raw_train = pipeline | "Train" >> beam.Create(raw_rows(train), reshuffle=False)
            raw_eval = pipeline | "Eval" >> beam.Create(raw_rows(evaluation), reshuffle=False)
            (train_rows, transformed_metadata), transform_fn = (
                raw_train,
                metadata,
            ) | tft_beam.AnalyzeAndTransformDataset(
                functools.partial(
                    preprocessing_fn, custom_config=transform_config or TRANSFORM_CONFIG
                )
            )
            eval_rows, _ = ((raw_eval, metadata), transform_fn) | tft_beam.TransformDataset()
            coder = tft.coders.ExampleProtoCoder(transformed_metadata.schema)
            for name, rows in (("train", train_rows), ("eval", eval_rows)):
                _ = (
                    rows
                    | f"Encode{name}" >> beam.Map(coder.encode)
                    | f"Write{name}"
                    >> beam.io.WriteToTFRecord(
                        os.path.join(data.examples_dir, f"Split-{name}", "transformed_examples"),
                        file_name_suffix=".gz",
                        num_shards=1,
                    )
                )
            _ = transform_fn | tft_beam.WriteTransformFn(data.transform_dir)
            # As TFX's Transform does: the raw metadata beside the graph, read at export.
            _ = metadata | tft_beam.WriteMetadata(
                os.path.join(data.transform_dir, tft.TFTransformOutput.RAW_METADATA_DIR), pipeline
            )
    return data


_SHARED: dict[str, TransformedData] = {}


def shared(tmp_path_factory) -> TransformedData:
    """`build` once per test session, whichever test file asks first."""
    if "data" not in _SHARED:
        _SHARED["data"] = build(str(tmp_path_factory.mktemp("transformed_data")))
    return _SHARED["data"]


def custom_config(training: dict | None = None, tuning: dict | None = None) -> dict:
    """The Trainer's and Tuner's custom_config: config defaults with fast training settings."""
    defaults = Config()
    return {
        **TRANSFORM_CONFIG,
        "numeric_columns": [],
        "training": {**defaults.training.model_dump(), **FAST_TRAINING, **(training or {})},
        "tuning": {**defaults.tuning.model_dump(), **(tuning or {})},
    }


def fn_args(
    data: TransformedData,
    working_dir: str,
    config: dict | None = None,
    hyperparameters: dict | None = None,
) -> fn_args_utils.FnArgs:
    """FnArgs as TFX's Trainer executor builds them (the Tuner's lack only the model dirs)."""
    examples = standard_artifacts.Examples()
    examples.uri = data.examples_dir
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    transform_graph = standard_artifacts.TransformGraph()
    transform_graph.uri = data.transform_dir
    schema = standard_artifacts.Schema()
    schema.uri = data.schema_dir
    args = fn_args_utils.get_common_fn_args(
        {"examples": [examples], "transform_graph": [transform_graph], "schema": [schema]},
        {
            "train_args": "{}",
            "eval_args": "{}",
            "custom_config": json.dumps(config or custom_config()),
        },
        working_dir=working_dir,
    )
    args.transform_output = args.transform_graph_path
    args.serving_model_dir = os.path.join(working_dir, "model", "Format-Serving")
    args.model_run_dir = os.path.join(working_dir, "model_run")
    args.hyperparameters = hyperparameters
    return args
