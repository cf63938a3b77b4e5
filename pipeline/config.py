"""The one validated configuration object: defaults, YAML file, then overrides.

Every key lives in a dataclass below with its default; a YAML file and
`--set section.key=value` flags may change any of them. Unknown keys, wrong
types and impossible values raise BadInputError naming the key and the fix.
"""

import dataclasses
import difflib
import os
import types
import typing
from typing import Any

import yaml

from pipeline.errors import BadInputError

DIRECT_RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")


@dataclasses.dataclass
class DataConfig:
    """Where the data is and how to read it."""

    path: str = ""  # a CSV file (plain or .gz) or a folder of CSV files
    label: str = ""  # the label column
    exclude_columns: list[str] = dataclasses.field(default_factory=list)  # e.g. ID columns
    categorical_columns: list[str] = dataclasses.field(default_factory=list)  # int codes
    schema: str | None = None  # curated schema.pbtxt; None infers one with SchemaGen
    eval_percent: int = 20  # share of rows hashed into the eval split


@dataclasses.dataclass
class PipelineConfig:
    """Identity, output location and orchestration."""

    name: str = "imbalanced-multiclass"
    output: str = "output"
    enable_cache: bool = True
    direct_running_mode: str = "in_memory"
    direct_num_workers: int = 1


@dataclasses.dataclass
class TrainingConfig:
    """The Keras MLP and its optimisation."""

    epochs: int = 30
    batch_size: int = 256
    hidden_units: list[int] = dataclasses.field(default_factory=lambda: [64, 32])
    dropout: float = 0.1
    l2: float = 0.0
    learning_rate: float = 0.003
    early_stopping_patience: int = 4
    seed: int = 42


@dataclasses.dataclass
class EvaluationConfig:
    """TFMA evaluation and the metric gate."""

    min_macro_f1: float = 0.0  # bless only above this macro-F1 on the eval split
    slices: list[str] = dataclasses.field(default_factory=list)  # feature columns to slice by


@dataclasses.dataclass
class Config:
    """All settings of one pipeline run."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    pipeline: PipelineConfig = dataclasses.field(default_factory=PipelineConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)

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
        section, key = dotted.strip().split(".", 1)
        raw.setdefault(section, {})[key] = _parse_value(value)
    for name, value in flags.items():
        if value is not None:
            section, key = name.split("__", 1)
            raw.setdefault(section, {})[key] = value
    config = _build(Config, raw, "")
    _check_values(config)
    return config


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


def _build(cls: type, raw: Any, where: str) -> Any:
    """Creates dataclass `cls` from a mapping, checking every key and type."""
    label = where or "the config"
    if not isinstance(raw, dict):
        raise BadInputError(f"{label} must be a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in raw.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BadInputError(
                f"unknown config key {dotted!r}{hint} Valid keys in {label}: {', '.join(fields)}"
            )
        hint_type = hints[key]
        if dataclasses.is_dataclass(hint_type):
            values[key] = _build(hint_type, value, dotted)
        else:
            values[key] = _coerce(value, hint_type, dotted)
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Returns `value` as type `hint`, or raises naming the key and the type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        (inner,) = [t for t in typing.get_args(hint) if t is not type(None)]
        return _coerce(value, inner, key)
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


def _check_values(config: Config) -> None:
    """Checks the ranges that types alone cannot express."""
    problems = []
    if not 0 < config.data.eval_percent < 100:
        problems.append("data.eval_percent must be between 1 and 99")
    if config.pipeline.direct_running_mode not in DIRECT_RUNNING_MODES:
        problems.append(
            f"pipeline.direct_running_mode must be one of {', '.join(DIRECT_RUNNING_MODES)}"
        )
    if config.pipeline.direct_num_workers < 0:
        problems.append("pipeline.direct_num_workers must be >= 0 (0 means one per core)")
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
    if not 0 <= config.evaluation.min_macro_f1 <= 1:
        problems.append("evaluation.min_macro_f1 must be in [0, 1]")
    if problems:
        raise BadInputError("invalid config: " + "; ".join(problems))
