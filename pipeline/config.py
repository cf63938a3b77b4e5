"""The one validated configuration object: defaults, YAML file, then overrides.

Every key lives in a pydantic model below with its default; a YAML file and
`--set section.key=value` flags may change any of them (conf/default.yaml lists
them all). Unknown keys, wrong types and impossible values raise BadInputError
naming the key and the fix: `load_config` turns pydantic's errors into those
messages, so a user never sees a pydantic error dump.
"""

import codecs
import difflib
import os
import re
import typing
import warnings
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from components.class_skew.analysis import CHECK_ACTIONS
from components.example_gen.csv_audit import CsvFormat
from components.modules.choices import (
    CALIBRATIONS,
    CLASS_WEIGHT_STRATEGIES,
    DECISION_OBJECTIVES,
    LEARNING_RATE_SCHEDULES,
    LOSSES,
    MODEL_FAMILIES,
    NUMERIC_ENCODINGS,
    OPTIMIZERS,
    SUPERCLASS_WEIGHTINGS,
    TUNER_ALGORITHMS,
    TUNER_OBJECTIVES,
)
from components.modules.errors import BadInputError

BEAM_RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner")
DIRECT_RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")
PORTABLE_ENVIRONMENTS = ("DOCKER", "EXTERNAL", "PROCESS", "LOOPBACK")
# Vertex AI Training's accelerators for custom jobs (the common ones; TPUs need cloud-tpu).
ACCELERATOR_TYPES = (
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_A100",
    "NVIDIA_A100_80GB",
    "NVIDIA_L4",
    "NVIDIA_H100_80GB",
    "TPU_V2",
    "TPU_V3",
)


def _number_to_str(value: Any) -> Any:
    """YAML reads class names and label values like `2` as numbers; they are text here."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _scalar_to_list(value: Any) -> Any:
    """Lets `--set data.exclude_columns=id` stand for a one-element list."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [value]
    return value


def _tab_escape(value: Any) -> Any:
    """`--set data.delimiter=\\t` from a shell arrives as backslash and t: a tab."""
    return "\t" if value == "\\t" else value


_Item = TypeVar("_Item")
Text = Annotated[str, BeforeValidator(_number_to_str)]  # a str; an int or float becomes one
ListOf = Annotated[list[_Item], BeforeValidator(_scalar_to_list)]  # a list; a scalar becomes one
Delimiter = Annotated[str, BeforeValidator(_tab_escape)]


class _Section(BaseModel):
    """Strict types (a bool is no int, "5" no number; an int is a float) and no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _start_from_field_defaults(cls, data: Any) -> Any:
        """A partly given nested section keeps the other keys of its field's default.

        Pydantic would fill them from the nested class's defaults instead, which
        differ where a field has its own default, e.g. each check of ClassSkewConfig.
        """
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, BaseModel) and isinstance(data.get(name), dict):
                merged[name] = {**default.model_dump(), **data[name]}
        return merged


# `data.schema` is the key users write; pydantic warns that it shadows BaseModel.schema(),
# the deprecated v1 method, which nothing here calls.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"Field name \"schema\"", UserWarning)

    class DataConfig(_Section):
        """Where the data is and how to read it."""

        path: Text = ""  # a CSV file (plain or .gz) or a folder of CSV files, local or gs://
        query: Text = ""  # a BigQuery SQL query instead of path (BigQueryExampleGen)
        label: Text = ""  # the label column
        exclude_columns: ListOf[Text] = []  # e.g. ID columns
        categorical_columns: ListOf[Text] = []  # int codes
        numeric_columns: ListOf[Text] = []  # int columns never embedded per value
        schema: Text | None = None  # curated schema.pbtxt; None infers one with SchemaGen
        eval_percent: int = 20  # share of each class in the eval split (stratified for CSV)
        delimiter: Delimiter = ","  # one character, e.g. ";" or "\t" (tab)
        encoding: Text = "utf-8"  # the CSV files' text encoding, e.g. latin-1
        missing_values: ListOf[Text] = []  # cells read as missing besides empty ones: ?, NA
        decimal: Text = "."  # the decimal mark of numbers: . or , (2,5)
        hierarchy: Text = ""  # CSV or YAML file: each class's superclass (pipeline.hierarchy)

        def csv_format(self) -> CsvFormat:
            """How ExampleGen and the input checks read the CSV files."""
            return CsvFormat(
                self.delimiter, self.encoding, tuple(self.missing_values), self.decimal
            )


class PipelineConfig(_Section):
    """Identity, output location and orchestration."""

    name: Text = "imbalanced-multiclass"
    output: Text = "output"
    enable_cache: bool = True


class BeamConfig(_Section):
    """The Beam runner of every Beam-powered component, and the options it needs."""

    runner: Text = "DirectRunner"  # DirectRunner | DataflowRunner | FlinkRunner | SparkRunner
    direct_running_mode: Text = "in_memory"  # DirectRunner: in_memory | multi_processing | ...
    direct_num_workers: int = 1  # DirectRunner: 0 means one per core
    project: Text = ""  # Google Cloud project: DataflowRunner and BigQuery reads
    region: Text = ""  # DataflowRunner
    temp_location: Text = ""  # gs:// path: DataflowRunner and BigQuery reads
    service_account_email: Text = ""  # DataflowRunner workers; empty: the default
    machine_type: Text = ""  # DataflowRunner, e.g. n2-standard-4; empty: Dataflow's default
    max_num_workers: int = 0  # DataflowRunner autoscaling cap; 0: Dataflow's default
    flink_master: Text = ""  # FlinkRunner: host:port of the JobManager
    spark_master_url: Text = ""  # SparkRunner: spark://host:7077
    environment_type: Text = "DOCKER"  # Flink/Spark SDK harness: DOCKER | EXTERNAL | ...
    environment_config: Text = ""  # its image or address; empty with DOCKER: vertex.image
    parallelism: int = 0  # FlinkRunner; 0: Flink's default
    extra_args: ListOf[Text] = []  # appended as given


class TrainingConfig(_Section):
    """The model families (MLP, boosted trees, their ensemble) and their optimisation."""

    model: Text = "gbt"  # mlp | gbt | ensemble (the two averaged, weight chosen on validation)
    epochs: int = 30
    batch_size: int = 256
    hidden_units: ListOf[int] = [64, 32]
    dropout: float = 0.1
    l1: float = 0.0  # with l2: an elastic-net penalty on the MLP's kernels
    l2: float = 0.0
    optimizer: Text = "adam"  # adam | adamw | sgd | rmsprop | adagrad
    learning_rate: float = 0.003
    learning_rate_schedule: Text = "constant"  # constant | cosine | plateau
    momentum: float = 0.9  # sgd and rmsprop
    nesterov: bool = True  # sgd
    weight_decay: float = 0.0  # decoupled weight decay, any optimizer; adamw needs > 0
    numeric_encoding: Text = "zscore"  # zscore | ple (plus piecewise-linear quantile bins)
    ple_dim: int = 16  # for numeric_encoding: ple, the embedding size per numeric column
    integer_categories_max: int = 32  # MLP: int columns with <= this many values, per value
    early_stopping_patience: int = 8  # epochs without a better val macro-F1 (4: too early)
    validation_percent: float = 15.0  # of each train class, held out for early stopping
    max_in_memory_mb: float = 2048.0  # above this the MLP streams the train split from disk
    shuffle_buffer: int = 100_000  # examples shuffled at a time when streaming
    seed: int = 42
    class_weights: Text = "effective_number"  # none | balanced | sqrt | effective_number
    effective_number_beta: float = 0.999
    max_class_weight: float = 100.0  # clip for the rarest classes
    loss: Text = "cross_entropy"  # cross_entropy | focal | logit_adjusted
    focal_gamma: float = 2.0
    logit_adjustment_tau: float = 1.0  # for loss: logit_adjusted
    superclass_loss_weight: float = 1.0  # with data.hierarchy: the superclass term; 0 = flat
    superclass_weighting: Text = "none"  # same | none | class: the superclass term's weights
    posthoc_logit_adjustment_tau: float = 0.0  # > 0 subtracts tau*log(prior) at serving
    decision_offsets: Text = "none"  # none | macro_f1 | balanced_accuracy: per-class offsets
    calibration: Text = "temperature"  # none | temperature (validation-fitted; argmax unchanged)
    gbt_max_iterations: int = 200  # boosting rounds; the best on validation is kept
    gbt_learning_rate: float = 0.1
    gbt_max_leaf_nodes: int = 31
    gbt_min_samples_leaf: int = 20
    gbt_l2: float = 1.0  # L2 penalty on leaf values; 0 let the trees diverge on kddcup
    gbt_refit: bool = True  # once the rounds are chosen, boost again on all train rows


class SearchSpaceConfig(_Section):
    """Choices the Tuner samples from; an empty list keeps the `training` value."""

    depth: ListOf[int] = [1, 2, 3]
    width: ListOf[int] = [32, 64, 128]
    dropout: ListOf[float] = [0.0, 0.1, 0.3]
    l1: ListOf[float] = []
    l2: ListOf[float] = [0.0, 1e-5, 1e-4]
    optimizer: ListOf[Text] = []
    momentum: ListOf[float] = []
    weight_decay: ListOf[float] = []
    learning_rate: ListOf[float] = [1e-3, 3e-3, 1e-2]
    learning_rate_schedule: ListOf[Text] = []
    batch_size: ListOf[int] = []
    loss: ListOf[Text] = list(LOSSES)
    focal_gamma: ListOf[float] = [1.0, 2.0]
    logit_adjustment_tau: ListOf[float] = [0.5, 1.0, 1.5]


class TuningConfig(_Section):
    """KerasTuner inside the TFX Tuner component."""

    enabled: bool = False
    algorithm: Text = "random"  # random | bayesian | hyperband | grid
    objective: Text = "val_macro_f1"  # val_macro_f1 | val_balanced_accuracy
    max_trials: int = 6
    epochs_per_trial: int = 8
    max_train_examples: int = 20000  # subsample per trial; 0 uses all
    search_space: SearchSpaceConfig = SearchSpaceConfig()


class Check(_Section):
    """One class-skew check: a threshold and what to do when it is crossed."""

    threshold: float = 0.0
    action: Text = "warn"  # warn: report it | gate: stop before training | off


class ClassSkewConfig(_Section):
    """Class-skew checks on StatisticsGen's label counts, per split."""

    max_imbalance_ratio: Check = Check(threshold=20.0, action="warn")
    min_class_count: Check = Check(threshold=10, action="warn")
    min_normalized_entropy: Check = Check(threshold=0.5, action="warn")
    max_label_divergence: Check = Check(threshold=0.02, action="warn")
    missing_class: Check = Check(threshold=0, action="gate")
    missing_label: Check = Check(threshold=0, action="gate")
    similar_labels: Check = Check(threshold=0, action="warn")  # 'a', 'a ', 'A' as classes
    marker_labels: Check = Check(threshold=0, action="warn")  # classes named NA, ?, null, ...


class EvaluationConfig(_Section):
    """TFMA evaluation and the metric gate (components.evaluator.eval_config reads these keys)."""

    min_macro_f1: float = 0.0  # bless only at or above this macro-F1 on the eval split
    chance_margin: float = 0.05  # bless only at balanced accuracy >= 1/classes + this
    min_class_recall: float = 0.0  # floor on the recall of every class
    class_recall: dict[Text, float] = {}  # class -> floor
    min_class_pr_auc: float = 0.0  # floor on the one-vs-rest PR-AUC of every class
    class_pr_auc: dict[Text, float] = {}  # class -> PR-AUC floor
    min_superclass_recall: float = 0.0  # with data.hierarchy: floor on every superclass's recall
    superclass_recall: dict[Text, float] = {}  # superclass -> recall floor
    min_superclass_macro_f1: float = 0.0  # with data.hierarchy: floor on superclass macro-F1
    slices: ListOf[Text] = []  # feature columns to slice by
    min_slice_size: int = 30  # smaller slices are left out of the report (floors still apply)
    slice_min_accuracy: dict[Text, float] = {}  # feature=value -> accuracy floor
    max_macro_f1_drop: float = 0.01  # vs the latest blessed model; larger drops block the push


class VertexTrainingConfig(_Section):
    """The Trainer and Tuner as Vertex AI Training custom jobs (compiled pipelines only)."""

    enabled: bool = False
    region: Text = ""  # empty: vertex.region
    machine_type: Text = "n1-standard-4"  # every replica's machine
    accelerator_type: Text = ""  # ACCELERATOR_TYPES; empty: none
    accelerator_count: int = 0  # per replica; > 0 with accelerator_type
    replica_count: int = 1  # Trainer: 1 chief, plus replica_count - 1 workers
    parallel_trials: int = 1  # Tuner: search loops at once, one replica each


class VertexConfig(_Section):
    """Where the compiled pipeline runs on Vertex AI / Kubeflow Pipelines v2."""

    image: Text = ""  # container image with this package installed (see Dockerfile)
    pipeline_root: Text = ""  # gs://bucket/path: artifacts and serving/
    project: Text = ""  # Google Cloud project of the pipeline job (submit) and training jobs
    region: Text = ""  # Vertex AI region, e.g. europe-west4 (submit, training jobs)
    service_account: Text = ""  # the pipeline and training jobs' identity; empty: defaults
    labels: dict[Text, Text] = {}  # on the pipeline job and the training jobs
    training: VertexTrainingConfig = VertexTrainingConfig()


class Config(_Section):
    """All settings of one pipeline run."""

    data: DataConfig = DataConfig()
    pipeline: PipelineConfig = PipelineConfig()
    beam: BeamConfig = BeamConfig()
    class_skew: ClassSkewConfig = ClassSkewConfig()
    training: TrainingConfig = TrainingConfig()
    tuning: TuningConfig = TuningConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    vertex: VertexConfig = VertexConfig()

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able values, section by section."""
        return self.model_dump()

    @model_validator(mode="after")
    def _check_values(self) -> "Config":
        """Checks the ranges and choices that types alone cannot express, all at once."""
        problems = _value_problems(self)
        if problems:
            raise ValueError("invalid config: " + "; ".join(problems))
        return self


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
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise BadInputError(_describe(e)) from None


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
    """The YAML value of `text`; text itself where YAML reads markup into one character."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, dict) and ":" not in text or value == "" and text.strip("'\" "):
        return text  # `?` (a key), `|` and `>` (block scalars) are meant as themselves
    return value


_TYPE_NAMES = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str"}


def _describe(error: ValidationError) -> str:
    """One message for the user from pydantic's errors, naming keys as the user wrote them.

    Range problems come alone (they are checked only once every type is right),
    already joined into one `invalid config: ...` message.
    """
    messages = []
    for detail in error.errors():
        if detail["type"] == "value_error":
            messages.append(str(detail["ctx"]["error"]))
        elif message := _type_problem(detail["type"], detail["loc"], detail["input"]):
            messages.append(message)
        else:
            key = _dotted(detail["loc"]) or "the config"
            messages.append(f"config key {key!r} is invalid: {detail['msg']}")
    return "; ".join(dict.fromkeys(messages))


def _type_problem(kind: str, loc: tuple[Any, ...], value: Any) -> str | None:
    """The message for an unknown key or a value of the wrong type, else None."""
    key = _dotted(loc)
    if kind == "extra_forbidden":
        section = _section_at(loc[:-1])
        fields = list(section.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        label = _dotted(loc[:-1]) or "the config"
        return f"unknown config key {key!r}{hint} Valid keys in {label}: {', '.join(fields)}"
    if kind == "model_type":
        return f"{key or 'the config'} must be a mapping, got {value!r}"
    if kind == "dict_type":
        return f"config key {key!r} must be a mapping, got {value!r}"
    if kind == "list_type":
        return f"config key {key!r} must be a list, got {value!r}"
    if kind in _TYPE_NAMES:
        return f"config key {key!r} must be of type {_TYPE_NAMES[kind]}, got {value!r}"
    return None


def _section_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model of the section at `loc`, a path of section names from Config."""
    section: type[BaseModel] = Config
    for name in loc:
        section = section.model_fields[name].annotation
    return section


def _as_section(annotation: Any) -> type[BaseModel] | None:
    """The model class a field annotation names; None for a value, list or mapping."""
    is_class = isinstance(annotation, type) and typing.get_origin(annotation) is None
    return annotation if is_class and issubclass(annotation, BaseModel) else None


def _dotted(loc: tuple[Any, ...]) -> str:
    """The dotted key of a pydantic error location, as the user writes it.

    A list item or a mapping's key goes by the name of its list or mapping, a
    mapping's value by `mapping.key`: users set lists and mappings whole.
    """
    if loc[-1:] == ("[key]",):
        loc = loc[:-2]
    names: list[str] = []
    annotation: Any = Config
    for part in loc:
        if typing.get_origin(annotation) is list:
            break
        names.append(str(part))
        section = _as_section(annotation)
        field = section.model_fields.get(part) if section else None
        annotation = field.annotation if field else None
    return ".".join(names)


def _choice_problems(*checks: tuple[str, list[str], tuple[str, ...]]) -> list[str]:
    return [
        f"{key} must be one of {', '.join(allowed)}, got {value!r}"
        for key, values, allowed in checks
        for value in values
        if value not in allowed
    ]


def _gbt_problems(training: TrainingConfig) -> list[str]:
    """scikit-learn's bounds on the boosted trees' settings, as config messages."""
    problems = []
    if min(training.gbt_max_iterations, training.gbt_min_samples_leaf) < 1:
        problems.append("training.gbt_max_iterations and gbt_min_samples_leaf must be >= 1")
    if training.gbt_max_leaf_nodes < 2:
        problems.append("training.gbt_max_leaf_nodes must be >= 2")
    if training.gbt_learning_rate <= 0 or training.gbt_l2 < 0:
        problems.append("training.gbt_learning_rate must be > 0 and training.gbt_l2 >= 0")
    return problems


SEARCH_RANGES = {  # tuning.search_space key -> (is a value in range, the range in words)
    "depth": (lambda v: v >= 1, ">= 1"),
    "width": (lambda v: v >= 1, ">= 1"),
    "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "l1": (lambda v: v >= 0, ">= 0"),
    "l2": (lambda v: v >= 0, ">= 0"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "learning_rate": (lambda v: v > 0, "> 0"),
    "batch_size": (lambda v: v >= 1, ">= 1"),
    "focal_gamma": (lambda v: v >= 0, ">= 0"),
    "logit_adjustment_tau": (lambda v: v >= 0, ">= 0"),
}


def _value_problems(config: Config) -> list[str]:
    """The ranges and choices that types alone cannot express, in one list."""
    problems = []
    if not 0 < config.data.eval_percent < 100:
        problems.append("data.eval_percent must be between 1 and 99")
    problems += _csv_format_problems(config.data)
    if bool(config.data.path) and bool(config.data.query):
        problems.append("set data.path (CSV) or data.query (BigQuery), not both")
    problems += _beam_problems(config)
    problems += _label_problems(config.vertex.labels)
    problems += _vertex_training_problems(config.vertex)
    if config.vertex.training.replica_count > 1 and config.training.model == "gbt":
        problems.append(
            "vertex.training.replica_count > 1 trains the MLP across machines, but "
            "training.model is gbt, whose trees train on one machine: set replica_count to 1, "
            "or training.model to mlp or ensemble"
        )
    training = config.training
    for key in ("epochs", "batch_size", "shuffle_buffer"):
        if getattr(training, key) < 1:
            problems.append(f"training.{key} must be >= 1")
    for key, (in_range, text) in SEARCH_RANGES.items():
        values = getattr(config.tuning.search_space, key)
        if not all(in_range(value) for value in values):
            problems.append(f"tuning.search_space.{key} values must each be {text}, got {values}")
    if not training.hidden_units or min(training.hidden_units) < 1:
        problems.append("training.hidden_units must be a non-empty list of positive sizes")
    if not 0 <= training.dropout < 1:
        problems.append("training.dropout must be in [0, 1)")
    if training.weight_decay < 0 or training.ple_dim < 1:
        problems.append("training.weight_decay must be >= 0 and training.ple_dim >= 1")
    if training.integer_categories_max < 0:
        problems.append("training.integer_categories_max must be >= 0 (0: never)")
    problems += [
        f"the label {config.data.label!r} is also in data.{key}; the label is never a feature: "
        f"remove it from data.{key}"
        for key in ("exclude_columns", "categorical_columns", "numeric_columns")
        if config.data.label and config.data.label in getattr(config.data, key)
    ]
    both = set(config.data.categorical_columns) & set(config.data.numeric_columns)
    if both:
        problems.append(
            f"columns {sorted(both)} are in both data.categorical_columns and "
            "data.numeric_columns; keep each in one"
        )
    if not 0 < training.validation_percent <= 50:
        problems.append("training.validation_percent must be in (0, 50]")
    if training.max_in_memory_mb <= 0:
        problems.append("training.max_in_memory_mb must be > 0")
    if min(training.l1, training.l2) < 0 or training.learning_rate <= 0:
        problems.append("training.l1 and l2 must be >= 0 and training.learning_rate > 0")
    if not 0 <= training.momentum < 1:
        problems.append("training.momentum must be in [0, 1)")
    space = config.tuning.search_space
    weight_decays = space.weight_decay or [training.weight_decay]
    if "adamw" in [training.optimizer, *space.optimizer] and min(weight_decays) <= 0:
        problems.append(
            "training.optimizer adamw needs training.weight_decay > 0, e.g. 0.004 (Keras' "
            "default), and so does every tuning.search_space.weight_decay value"
        )
    problems += _gbt_problems(training)
    if config.tuning.enabled and training.model == "gbt":
        problems.append(
            "tuning searches the MLP's settings; set training.model to mlp or ensemble, "
            "or tuning.enabled to false"
        )
    evaluation = config.evaluation
    bounds = {
        "evaluation.min_macro_f1": evaluation.min_macro_f1,
        "evaluation.min_class_recall": evaluation.min_class_recall,
        "evaluation.min_class_pr_auc": evaluation.min_class_pr_auc,
        "evaluation.min_superclass_recall": evaluation.min_superclass_recall,
        "evaluation.min_superclass_macro_f1": evaluation.min_superclass_macro_f1,
        **{f"evaluation.superclass_recall.{k}": v for k, v in evaluation.superclass_recall.items()},
        "evaluation.max_macro_f1_drop": evaluation.max_macro_f1_drop,
        **{f"evaluation.class_recall.{k}": v for k, v in evaluation.class_recall.items()},
        **{f"evaluation.class_pr_auc.{k}": v for k, v in evaluation.class_pr_auc.items()},
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
    if not 0 < evaluation.chance_margin < 1:
        problems.append(
            "evaluation.chance_margin must be in (0, 1): a model at chance is never pushed"
        )
    if evaluation.min_slice_size < 1:
        problems.append("evaluation.min_slice_size must be >= 1")
    problems += _choice_problems(
        ("beam.runner", [config.beam.runner], BEAM_RUNNERS),
        ("beam.direct_running_mode", [config.beam.direct_running_mode], DIRECT_RUNNING_MODES),
        ("beam.environment_type", [config.beam.environment_type], PORTABLE_ENVIRONMENTS),
        ("training.class_weights", [training.class_weights], CLASS_WEIGHT_STRATEGIES),
        ("training.loss", [training.loss], LOSSES),
        (
            "training.superclass_weighting",
            [training.superclass_weighting],
            SUPERCLASS_WEIGHTINGS,
        ),
        ("training.numeric_encoding", [training.numeric_encoding], NUMERIC_ENCODINGS),
        ("training.model", [training.model], MODEL_FAMILIES),
        ("training.decision_offsets", [training.decision_offsets], DECISION_OBJECTIVES),
        ("training.calibration", [training.calibration], CALIBRATIONS),
        ("tuning.algorithm", [config.tuning.algorithm], TUNER_ALGORITHMS),
        ("tuning.objective", [config.tuning.objective], TUNER_OBJECTIVES),
        ("tuning.search_space.loss", config.tuning.search_space.loss, LOSSES),
        ("training.optimizer", [training.optimizer], OPTIMIZERS),
        ("tuning.search_space.optimizer", config.tuning.search_space.optimizer, OPTIMIZERS),
        (
            "training.learning_rate_schedule",
            [training.learning_rate_schedule],
            LEARNING_RATE_SCHEDULES,
        ),
        (
            "tuning.search_space.learning_rate_schedule",
            config.tuning.search_space.learning_rate_schedule,
            LEARNING_RATE_SCHEDULES,
        ),
        *(
            (f"class_skew.{name}.action", [check.action], CHECK_ACTIONS)
            for name, check in config.class_skew
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
    superclass_floors = [
        key
        for key in ("superclass_recall", "min_superclass_recall", "min_superclass_macro_f1")
        if getattr(config.evaluation, key)
    ]
    if superclass_floors and not config.data.hierarchy:
        problems.append(
            f"evaluation.{superclass_floors[0]} bounds superclasses: set data.hierarchy too"
        )
    if training.superclass_loss_weight < 0:
        problems.append("training.superclass_loss_weight must be >= 0 (0: the flat loss)")
    tuning = config.tuning
    if tuning.max_trials < 1 or tuning.epochs_per_trial < 1 or tuning.max_train_examples < 0:
        problems.append(
            "tuning.max_trials and epochs_per_trial must be >= 1, max_train_examples >= 0"
        )
    if bool(tuning.search_space.depth) != bool(tuning.search_space.width):
        problems.append(
            "tuning.search_space.depth and width make the hidden layers together: "
            "list values for both, or for neither to keep training.hidden_units"
        )
    return problems


def _csv_format_problems(data: DataConfig) -> list[str]:
    problems = []
    if len(data.delimiter) != 1 or data.delimiter in '"\r\n':
        problems.append(
            f"data.delimiter must be one character other than a quote or newline, got "
            f"{data.delimiter!r}"
        )
    if data.decimal not in (".", ","):
        problems.append(f"data.decimal must be . or , got {data.decimal!r}")
    elif data.decimal == data.delimiter:
        problems.append("data.decimal and data.delimiter must differ; set data.delimiter=';'")
    try:
        if codecs.lookup(data.encoding).name.startswith(("utf-16", "utf-32")):
            problems.append(
                f"data.encoding {data.encoding!r} is not read line by line; save the file as "
                "UTF-8 (e.g. iconv -f utf-16 -t utf-8 IN > OUT)"
            )
    except LookupError:
        problems.append(f"data.encoding {data.encoding!r} is not a known text encoding")
    return problems


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


def _vertex_training_problems(vertex: VertexConfig) -> list[str]:
    """What a Vertex AI Training job cannot run with, each with its fix."""
    training = vertex.training
    problems = []
    if training.accelerator_type not in ("", *ACCELERATOR_TYPES):
        problems.append(
            f"vertex.training.accelerator_type must be one of {', '.join(ACCELERATOR_TYPES)} "
            f"or '' (none), got {training.accelerator_type!r}"
        )
    if training.accelerator_count and not training.accelerator_type:
        problems.append(
            "vertex.training.accelerator_count needs vertex.training.accelerator_type, e.g. "
            "NVIDIA_TESLA_T4; or set accelerator_count to 0 (no accelerator)"
        )
    if training.accelerator_type and training.accelerator_count < 1:
        problems.append(
            f"vertex.training.accelerator_type {training.accelerator_type} needs "
            "vertex.training.accelerator_count >= 1; or set accelerator_type to '' (none)"
        )
    if training.replica_count < 1:
        problems.append("vertex.training.replica_count must be >= 1 (1: the chief alone)")
    if training.parallel_trials < 1:
        problems.append("vertex.training.parallel_trials must be >= 1 (1: one trial at a time)")
    missing = [
        key
        for key, value in (
            ("vertex.image", vertex.image),
            ("vertex.project", vertex.project),
            ("vertex.region (or vertex.training.region)", training.region or vertex.region),
        )
        if not value
    ]
    if training.enabled and missing:
        problems.append(
            f"vertex.training.enabled needs {', '.join(missing)}: the training jobs run the "
            "image built from the Dockerfile in that project and region; set them, or set "
            "vertex.training.enabled to false"
        )
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
