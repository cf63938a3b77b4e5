"""The one validated configuration object: defaults, YAML file, then overrides.

Every key lives in a dataclass below with its default; a YAML file and
`--set section.key=value` flags may change any of them. Unknown keys, wrong
types and impossible values raise BadInputError naming the key and the fix.
"""

import dataclasses
import difflib
import os
import re
import types
import typing
from typing import Any

import yaml

from pipeline.errors import BadInputError

BEAM_RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner")
DIRECT_RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")
PORTABLE_ENVIRONMENTS = ("DOCKER", "EXTERNAL", "PROCESS", "LOOPBACK")
CLASS_WEIGHT_STRATEGIES = ("none", "balanced", "effective_number")
LOSSES = ("cross_entropy", "focal", "logit_adjusted")
CHECK_ACTIONS = ("warn", "gate", "off")
TUNER_ALGORITHMS = ("random", "bayesian", "hyperband")
TUNER_OBJECTIVES = ("val_macro_f1", "val_balanced_accuracy")


@dataclasses.dataclass
class DataConfig:
    """Where the data is and how to read it."""

    path: str = ""  # a CSV file (plain or .gz) or a folder of CSV files, local or gs://
    query: str = ""  # a BigQuery SQL query instead of path (BigQueryExampleGen)
    label: str = ""  # the label column
    exclude_columns: list[str] = dataclasses.field(default_factory=list)  # e.g. ID columns
    categorical_columns: list[str] = dataclasses.field(default_factory=list)  # int codes
    schema: str | None = None  # curated schema.pbtxt; None infers one with SchemaGen
    eval_percent: int = 20  # share of each class in the eval split (stratified for CSV)


@dataclasses.dataclass
class PipelineConfig:
    """Identity, output location and orchestration."""

    name: str = "imbalanced-multiclass"
    output: str = "output"
    enable_cache: bool = True


@dataclasses.dataclass
class BeamConfig:
    """The Beam runner of every Beam-powered component, and the options it needs."""

    runner: str = "DirectRunner"  # DirectRunner | DataflowRunner | FlinkRunner | SparkRunner
    direct_running_mode: str = "in_memory"  # DirectRunner: in_memory | multi_processing | ...
    direct_num_workers: int = 1  # DirectRunner: 0 means one per core
    project: str = ""  # Google Cloud project: DataflowRunner and BigQuery reads
    region: str = ""  # DataflowRunner
    temp_location: str = ""  # gs:// path: DataflowRunner and BigQuery reads
    service_account_email: str = ""  # DataflowRunner workers; empty: the default
    machine_type: str = ""  # DataflowRunner, e.g. n2-standard-4; empty: Dataflow's default
    max_num_workers: int = 0  # DataflowRunner autoscaling cap; 0: Dataflow's default
    flink_master: str = ""  # FlinkRunner: host:port of the JobManager
    spark_master_url: str = ""  # SparkRunner: spark://host:7077
    environment_type: str = "DOCKER"  # Flink/Spark SDK harness: DOCKER | EXTERNAL | ...
    environment_config: str = ""  # its image or address; empty with DOCKER: vertex.image
    parallelism: int = 0  # FlinkRunner; 0: Flink's default
    extra_args: list[str] = dataclasses.field(default_factory=list)  # appended as given


@dataclasses.dataclass
class TrainingConfig:
    """The Keras MLP and its optimisation."""

    epochs: int = 30
    batch_size: int = 256
    hidden_units: list[int] = dataclasses.field(default_factory=lambda: [64, 32])
    dropout: float = 0.1
    l2: float = 0.0
    learning_rate: float = 0.003
    early_stopping_patience: int = 8  # epochs without a better val macro-F1 (4: too early)
    seed: int = 42
    class_weights: str = "effective_number"  # none | balanced | effective_number
    effective_number_beta: float = 0.999
    max_class_weight: float = 100.0  # clip for the rarest classes
    loss: str = "cross_entropy"  # cross_entropy | focal | logit_adjusted
    focal_gamma: float = 2.0
    logit_adjustment_tau: float = 1.0  # for loss: logit_adjusted
    posthoc_logit_adjustment_tau: float = 0.0  # > 0 subtracts tau*log(prior) at serving


@dataclasses.dataclass
class SearchSpaceConfig:
    """Choices the Tuner samples from."""

    depth: list[int] = dataclasses.field(default_factory=lambda: [1, 2, 3])
    width: list[int] = dataclasses.field(default_factory=lambda: [32, 64, 128])
    dropout: list[float] = dataclasses.field(default_factory=lambda: [0.0, 0.1, 0.3])
    l2: list[float] = dataclasses.field(default_factory=lambda: [0.0, 1e-5, 1e-4])
    learning_rate: list[float] = dataclasses.field(default_factory=lambda: [1e-3, 3e-3, 1e-2])
    loss: list[str] = dataclasses.field(default_factory=lambda: list(LOSSES))
    focal_gamma: list[float] = dataclasses.field(default_factory=lambda: [1.0, 2.0])
    logit_adjustment_tau: list[float] = dataclasses.field(default_factory=lambda: [0.5, 1.0, 1.5])


@dataclasses.dataclass
class TuningConfig:
    """KerasTuner inside the TFX Tuner component."""

    enabled: bool = False
    algorithm: str = "random"  # random | bayesian | hyperband
    objective: str = "val_macro_f1"  # val_macro_f1 | val_balanced_accuracy
    max_trials: int = 6
    epochs_per_trial: int = 8
    max_train_examples: int = 20000  # subsample per trial; 0 uses all
    search_space: SearchSpaceConfig = dataclasses.field(default_factory=SearchSpaceConfig)


@dataclasses.dataclass
class Check:
    """One class-skew check: a threshold and what to do when it is crossed."""

    threshold: float = 0.0
    action: str = "warn"  # warn: report it | gate: stop before training | off


@dataclasses.dataclass
class ClassSkewConfig:
    """Class-skew checks on StatisticsGen's label counts, per split."""

    max_imbalance_ratio: Check = dataclasses.field(default_factory=lambda: Check(20.0, "warn"))
    min_class_count: Check = dataclasses.field(default_factory=lambda: Check(10, "warn"))
    min_normalized_entropy: Check = dataclasses.field(default_factory=lambda: Check(0.5, "warn"))
    max_label_divergence: Check = dataclasses.field(default_factory=lambda: Check(0.02, "warn"))
    missing_class: Check = dataclasses.field(default_factory=lambda: Check(0, "gate"))
    missing_label: Check = dataclasses.field(default_factory=lambda: Check(0, "gate"))


@dataclasses.dataclass
class EvaluationConfig:
    """TFMA evaluation and the metric gate (components.eval_config reads these keys)."""

    min_macro_f1: float = 0.0  # bless only at or above this macro-F1 on the eval split
    min_class_recall: float = 0.0  # floor on the recall of every class
    class_recall: dict[str, float] = dataclasses.field(default_factory=dict)  # class -> floor
    slices: list[str] = dataclasses.field(default_factory=list)  # feature columns to slice by
    min_slice_size: int = 30  # smaller slices are left out of the report (floors still apply)
    slice_min_accuracy: dict[str, float] = dataclasses.field(default_factory=dict)
    max_macro_f1_drop: float = 0.01  # vs the latest blessed model; larger drops block the push


@dataclasses.dataclass
class VertexConfig:
    """Where the compiled pipeline runs on Vertex AI / Kubeflow Pipelines v2."""

    image: str = ""  # container image with this package installed (see Dockerfile)
    pipeline_root: str = ""  # gs://bucket/path: artifacts and serving/
    project: str = ""  # Google Cloud project that runs the pipeline job (submit)
    region: str = ""  # Vertex AI region, e.g. europe-west4 (submit)
    service_account: str = ""  # the job's identity; empty: the Compute Engine default
    labels: dict[str, str] = dataclasses.field(default_factory=dict)  # on the pipeline job


@dataclasses.dataclass
class Config:
    """All settings of one pipeline run."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    pipeline: PipelineConfig = dataclasses.field(default_factory=PipelineConfig)
    beam: BeamConfig = dataclasses.field(default_factory=BeamConfig)
    class_skew: ClassSkewConfig = dataclasses.field(default_factory=ClassSkewConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    tuning: TuningConfig = dataclasses.field(default_factory=TuningConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    vertex: VertexConfig = dataclasses.field(default_factory=VertexConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(
    path: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    **flags: Any,
) -> Config:
    """Builds the config from defaults, an optional YAML file and overrides.

    Args:
      path: YAML file with any of the sections of `Config`.
      overrides: `section.key=value` strings; the value is parsed as YAML.
      **flags: `section__key=value` shortcuts from CLI flags (None is ignored).

    Raises:
      BadInputError: on a missing file, bad YAML, unknown key or bad value.
    """
    raw: dict[str, Any] = {}
    if path:
        raw = _read_yaml(path)
    for override in overrides:
        dotted, sep, value = override.partition("=")
        if not sep or "." not in dotted:
            raise BadInputError(
                f"--set {override!r} is not of the form section.key=value, "
                "e.g. --set training.epochs=5"
            )
        _set_nested(raw, dotted.strip().split("."), _parse_value(value))
    for name, value in flags.items():
        if value is not None:
            _set_nested(raw, name.split("__"), value)
    config = _build(Config(), raw, "")
    _check_values(config)
    return config


def _set_nested(raw: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = raw.setdefault(key, {})
        if not isinstance(child, dict):
            raise BadInputError(f"config key {'.'.join(keys)!r} conflicts with {key}: {child!r}")
        raw = child
    raw[keys[-1]] = value


def _read_yaml(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise BadInputError(f"config file {path!r} does not exist; pass an existing YAML file")
    with open(path, encoding="utf-8") as f:
        try:
            raw = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise BadInputError(f"config file {path!r} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise BadInputError(f"config file {path!r} must hold a mapping of sections")
    return raw


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _build(default: Any, raw: Any, where: str) -> Any:
    """Returns dataclass `default` updated from a mapping, checking every key and type.

    Nested sections start from their own defaults, so setting one key of a
    section keeps the defaults of its other keys.
    """
    label = where or "the config"
    if not isinstance(raw, dict):
        raise BadInputError(f"{label} must be a mapping, got {raw!r}")
    fields = [f.name for f in dataclasses.fields(default)]
    hints = typing.get_type_hints(type(default))
    values = {}
    for key, value in raw.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BadInputError(
                f"unknown config key {dotted!r}{hint} Valid keys in {label}: {', '.join(fields)}"
            )
        current = getattr(default, key)
        if dataclasses.is_dataclass(current):
            values[key] = _build(current, value, dotted)
        else:
            values[key] = _coerce(value, hints[key], dotted)
    return dataclasses.replace(default, **values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Returns `value` as type `hint`, or raises naming the key and the type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        (inner,) = [t for t in typing.get_args(hint) if t is not type(None)]
        return _coerce(value, inner, key)
    if origin is dict:
        key_type, value_type = typing.get_args(hint)
        if not isinstance(value, dict):
            raise BadInputError(f"config key {key!r} must be a mapping, got {value!r}")
        return {
            _coerce(k, key_type, key): _coerce(v, value_type, f"{key}.{k}")
            for k, v in value.items()
        }
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise BadInputError(f"config key {key!r} must be a list, got {value!r}")
        return [_coerce(item, item_type, key) for item in value]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise BadInputError(f"config key {key!r} must be of type {hint.__name__}, got {value!r}")
    return value


def _choice_problems(*checks: tuple[str, list[str], tuple[str, ...]]) -> list[str]:
    return [
        f"{key} must be one of {', '.join(allowed)}, got {value!r}"
        for key, values, allowed in checks
        for value in values
        if value not in allowed
    ]


def _check_values(config: Config) -> None:
    """Checks the ranges that types alone cannot express."""
    problems = []
    if not 0 < config.data.eval_percent < 100:
        problems.append("data.eval_percent must be between 1 and 99")
    if bool(config.data.path) and bool(config.data.query):
        problems.append("set data.path (CSV) or data.query (BigQuery), not both")
    problems += _beam_problems(config)
    problems += _label_problems(config.vertex.labels)
    training = config.training
    for key in ("epochs", "batch_size"):
        if getattr(training, key) < 1:
            problems.append(f"training.{key} must be >= 1")
    if not training.hidden_units or min(training.hidden_units) < 1:
        problems.append("training.hidden_units must be a non-empty list of positive sizes")
    if not 0 <= training.dropout < 1:
        problems.append("training.dropout must be in [0, 1)")
    if training.l2 < 0 or training.learning_rate <= 0:
        problems.append("training.l2 must be >= 0 and training.learning_rate > 0")
    evaluation = config.evaluation
    bounds = {
        "evaluation.min_macro_f1": evaluation.min_macro_f1,
        "evaluation.min_class_recall": evaluation.min_class_recall,
        "evaluation.max_macro_f1_drop": evaluation.max_macro_f1_drop,
        **{f"evaluation.class_recall.{k}": v for k, v in evaluation.class_recall.items()},
        **{
            f"evaluation.slice_min_accuracy.{k}": v
            for k, v in evaluation.slice_min_accuracy.items()
        },
    }
    problems += [
        f"{key} must be in [0, 1], got {value}"
        for key, value in bounds.items()
        if not 0 <= value <= 1
    ]
    problems += [
        f"evaluation.slice_min_accuracy key {text!r} must look like feature=value"
        for text in evaluation.slice_min_accuracy
        if not re.fullmatch(r"[^=]+=[^=]+", text)
    ]
    if evaluation.min_slice_size < 1:
        problems.append("evaluation.min_slice_size must be >= 1")
    problems += _choice_problems(
        ("beam.runner", [config.beam.runner], BEAM_RUNNERS),
        ("beam.direct_running_mode", [config.beam.direct_running_mode], DIRECT_RUNNING_MODES),
        ("beam.environment_type", [config.beam.environment_type], PORTABLE_ENVIRONMENTS),
        ("training.class_weights", [training.class_weights], CLASS_WEIGHT_STRATEGIES),
        ("training.loss", [training.loss], LOSSES),
        ("tuning.algorithm", [config.tuning.algorithm], TUNER_ALGORITHMS),
        ("tuning.objective", [config.tuning.objective], TUNER_OBJECTIVES),
        ("tuning.search_space.loss", config.tuning.search_space.loss, LOSSES),
        *(
            (f"class_skew.{name}.action", [check.action], CHECK_ACTIONS)
            for name, check in vars(config.class_skew).items()
        ),
    )
    if not 0 <= training.effective_number_beta < 1:
        problems.append("training.effective_number_beta must be in [0, 1)")
    if training.max_class_weight < 1:
        problems.append("training.max_class_weight must be >= 1")
    if training.focal_gamma < 0 or training.logit_adjustment_tau < 0:
        problems.append("training.focal_gamma and training.logit_adjustment_tau must be >= 0")
    if training.posthoc_logit_adjustment_tau < 0:
        problems.append("training.posthoc_logit_adjustment_tau must be >= 0")
    tuning = config.tuning
    if tuning.max_trials < 1 or tuning.epochs_per_trial < 1 or tuning.max_train_examples < 0:
        problems.append(
            "tuning.max_trials and epochs_per_trial must be >= 1, max_train_examples >= 0"
        )
    for name, choices in vars(tuning.search_space).items():
        if not choices:
            problems.append(f"tuning.search_space.{name} must list at least one value")
    if problems:
        raise BadInputError("invalid config: " + "; ".join(problems))


def _beam_problems(config: Config) -> list[str]:
    """The options each Beam runner (and a BigQuery read) cannot do without."""
    beam = config.beam
    needs = {
        "DataflowRunner": ("project", "region", "temp_location"),
        "FlinkRunner": ("flink_master",),
        "SparkRunner": ("spark_master_url",),
    }
    required = [(key, f"beam.runner={beam.runner}") for key in needs.get(beam.runner, ())]
    if config.data.query:
        required += [(key, "data.query (BigQuery)") for key in ("project", "temp_location")]
    problems = [
        f"beam.{key} is required with {reason}"
        for key, reason in required
        if not getattr(beam, key)
    ]
    docker_harness = beam.runner in ("FlinkRunner", "SparkRunner") and (
        beam.environment_type == "DOCKER" and not beam.environment_config
    )
    if (beam.runner == "DataflowRunner" or docker_harness) and not config.vertex.image:
        problems.append(
            f"beam.runner={beam.runner} runs this package on remote workers: set vertex.image "
            "to the image built from the Dockerfile"
        )
    if beam.temp_location and not beam.temp_location.startswith("gs://"):
        problems.append(f"beam.temp_location must be a gs:// path, got {beam.temp_location!r}")
    for key in ("direct_num_workers", "max_num_workers", "parallelism"):
        if getattr(beam, key) < 0:
            problems.append(f"beam.{key} must be >= 0 (0 means the runner's default)")
    return problems


def _label_problems(labels: dict[str, str]) -> list[str]:
    """Vertex AI label rules: lowercase letters, digits, - and _, keys start with a letter."""
    return [
        f"vertex.labels {key}: {value!r} is not a valid label; use lowercase letters, "
        "digits, - and _ (up to 63 characters, keys starting with a letter)"
        for key, value in labels.items()
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key)
        or not re.fullmatch(r"[a-z0-9_-]{0,63}", value)
    ]
