"""Config loading: defaults, YAML, --set overrides and every kind of bad value."""

import json
import os

import pytest
import yaml
from pydantic import BaseModel

from components.example_gen.csv_audit import CsvFormat
from components.modules.errors import BadInputError, ExitCode
from pipeline.config import Config, load_config
from tests.conftest import REPO


def test_defaults_need_only_data_and_label():
    config = load_config(data__path="x.csv", data__label="y")
    assert config.data.path == "x.csv"
    assert config.data.label == "y"
    assert config.training == Config().training
    assert config.pipeline.enable_cache is True


def test_yaml_then_set_then_flags_in_order_of_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "data:\n  label: from_yaml\n  exclude_columns: [id]\n"
        "training:\n  epochs: 3\n  hidden_units: [8]\n  learning_rate: 1\n"
    )
    config = load_config(
        str(path), ["training.epochs=7", "data.exclude_columns=[id, ts]"], data__label="flag"
    )
    assert config.data.label == "flag"
    assert config.training.epochs == 7
    assert config.training.hidden_units == [8]
    assert config.training.learning_rate == 1.0 and isinstance(config.training.learning_rate, float)
    assert config.data.exclude_columns == ["id", "ts"]


def test_single_value_is_accepted_for_a_list():
    assert load_config(None, ["data.exclude_columns=id"]).data.exclude_columns == ["id"]


def test_unknown_key_suggests_the_close_match():
    with pytest.raises(BadInputError, match=r"unknown config key 'training.epoch'.*'epochs'"):
        load_config(None, ["training.epoch=3"])


def test_unknown_section_is_named():
    with pytest.raises(BadInputError, match=r"unknown config key 'trainig'.*'training'"):
        load_config(None, ["trainig.epochs=3"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.epochs=many", r"'training.epochs' must be of type int, got 'many'"),
        ("training.epochs=2.5", r"'training.epochs' must be of type int"),
        ("pipeline.enable_cache=3", r"'pipeline.enable_cache' must be of type bool"),
        ("training.hidden_units={a: 1}", r"'training.hidden_units' must be a list"),
        ("evaluation.min_macro_f1=1.5", r"evaluation.min_macro_f1 must be in \[0, 1\]"),
        ("evaluation.class_recall={'2': 1.5}", r"evaluation.class_recall.2 must be in \[0, 1\]"),
        ("evaluation.class_recall=[0.5]", r"'evaluation.class_recall' must be a mapping"),
        ("evaluation.slice_min_accuracy={island: 0.5}", r"must look like feature=value"),
        ("training.dropout=1", r"training.dropout must be in \[0, 1\)"),
        ("beam.direct_running_mode=fast", r"direct_running_mode must be one of"),
        ("data.eval_percent=0", r"eval_percent must be between 1 and 99"),
        ("beam.runner=SparkRuner", r"beam.runner must be one of DirectRunner, DataflowRunner"),
        ("beam.runner=DataflowRunner", r"beam.project is required with beam.runner=Dataflow"),
        ("beam.runner=FlinkRunner", r"beam.flink_master is required with beam.runner=Flink"),
        ("beam.runner=SparkRunner", r"beam.spark_master_url is required"),
        ("beam.temp_location=/tmp/beam", r"beam.temp_location must be a gs:// path"),
        ("data.query=SELECT 1", r"beam.project is required with data.query \(BigQuery\)"),
        ("vertex.labels={Team: ml}", r"vertex.labels Team: 'ml' is not a valid label"),
        ("training.epochs", r"not of the form section.key=value"),
        ("data.delimiter=;;", r"data.delimiter must be one character other than a quote"),
        ("data.delimiter='\"'", r"data.delimiter must be one character other than a quote"),
        ("data.encoding=klingon", r"data.encoding 'klingon' is not a known text encoding"),
        ("data.decimal=;", r"data.decimal must be . or , got ';'"),
        ("data.encoding=utf-16", r"data.encoding 'utf-16' is not read line by line"),
        ("training.optimizer=lion", r"training.optimizer must be one of adam, adamw, sgd, rmsprop"),
        ("training.optimizer=adamw", r"adamw needs training.weight_decay > 0"),
        ("tuning.search_space.optimizer=[sgd, adamw]", r"adamw needs training.weight_decay > 0"),
        ("tuning.search_space.optimizer=[nadam]", r"tuning.search_space.optimizer must be one"),
        ("training.momentum=1", r"training.momentum must be in \[0, 1\)"),
        ("training.learning_rate_schedule=step", r"learning_rate_schedule must be one of constant"),
        ("training.l1=-1", r"training.l1 and l2 must be >= 0"),
        ("data.decimal=,", r"data.decimal and data.delimiter must differ; set data.delimiter"),
        ("evaluation.chance_margin=0", r"evaluation.chance_margin must be in \(0, 1\)"),
        ("data.exclude_columns=[target]", r"label 'target' is also in data.exclude_columns"),
    ],
)
def test_bad_values_raise_bad_input(override, message):
    with pytest.raises(BadInputError, match=message) as error:
        load_config(None, [override], data__label="target")
    assert error.value.exit_code == ExitCode.BAD_INPUT


def test_missing_config_file(tmp_path):
    with pytest.raises(BadInputError, match="does not exist"):
        load_config(str(tmp_path / "nope.yaml"))


def test_config_file_must_be_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(BadInputError, match="must hold a mapping"):
        load_config(str(path))


def test_nested_keys_keep_the_defaults_of_their_siblings(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("class_skew:\n  missing_class:\n    threshold: 3\n")
    config = load_config(str(path), ["class_skew.max_imbalance_ratio.action=gate"])
    assert config.class_skew.missing_class.threshold == 3.0
    assert config.class_skew.missing_class.action == "gate"  # this check's own default
    assert config.class_skew.max_imbalance_ratio.action == "gate"
    assert config.class_skew.max_imbalance_ratio.threshold == 20.0


def test_tuning_search_space_from_overrides():
    config = load_config(
        None, ["training.model=ensemble", "tuning.enabled=true", "tuning.search_space.loss=[focal]"]
    )
    assert config.tuning.enabled is True
    assert config.tuning.search_space.loss == ["focal"]
    assert config.tuning.search_space.depth == [1, 2, 3]


def test_keys_the_search_space_leaves_empty_keep_the_training_values():
    """A user's training.optimizer or batch_size holds with tuning on unless searched."""
    space = Config().tuning.search_space
    assert space.optimizer == space.l1 == space.batch_size == space.learning_rate_schedule == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.class_weights=inverse", r"training.class_weights must be one of none, balanced"),
        ("training.loss=hinge", r"training.loss must be one of"),
        ("training.superclass_weighting=all", r"superclass_weighting must be one of same, none"),
        (
            "class_skew.missing_class.action=panic",
            r"class_skew.missing_class.action must be one of",
        ),
        ("tuning.search_space.loss=[focal, hinge]", r"search_space.loss must be one of.*'hinge'"),
        ("tuning.search_space.width=[]", r"depth and width make the hidden layers together"),
        (
            "tuning.search_space.batch_size=[0, 64]",
            r"tuning.search_space.batch_size values must each be >= 1, got \[0, 64\]",
        ),
        (
            "tuning.search_space.dropout=[0.1, 1.0]",
            r"tuning.search_space.dropout values must each be in \[0, 1\), got \[0.1, 1.0\]",
        ),
        (
            "tuning.search_space.momentum=[0.9, -0.1]",
            r"tuning.search_space.momentum values must each be in \[0, 1\)",
        ),
        ("tuning.search_space.learning_rate=[0]", r"learning_rate values must each be > 0"),
        (
            "tuning.search_space.learning_rate_schedule=[cosine, step]",
            r"search_space.learning_rate_schedule must be one of constant, cosine, plateau, "
            r"got 'step'",
        ),
        ("training.effective_number_beta=1", r"effective_number_beta must be in \[0, 1\)"),
        ("training.model=forest", r"training.model must be one of mlp, gbt, ensemble"),
        (
            "training.decision_offsets=f1",
            r"training.decision_offsets must be one of none, macro_f1",
        ),
        ("training.gbt_max_iterations=0", r"gbt_max_iterations and gbt_min_samples_leaf must"),
        ("training.gbt_max_leaf_nodes=1", r"training.gbt_max_leaf_nodes must be >= 2"),
        ("training.integer_categories_max=-1", r"integer_categories_max must be >= 0"),
        ("tuning.enabled=true", r"tuning searches the MLP's settings; set training.model to mlp"),
        (
            "class_skew.missing_class.limit=1",
            r"unknown config key 'class_skew.missing_class.limit'",
        ),
    ],
)
def test_bad_imbalance_settings(override, message):
    with pytest.raises(BadInputError, match=message):
        load_config(None, [override])


def test_a_searched_adamw_needs_every_searched_weight_decay_above_zero():
    adamw = ["training.weight_decay=0.004", "tuning.search_space.optimizer=[adam, adamw]"]
    with pytest.raises(BadInputError, match=r"every tuning.search_space.weight_decay value"):
        load_config(None, [*adamw, "tuning.search_space.weight_decay=[0.0, 0.01]"])
    config = load_config(None, [*adamw, "tuning.search_space.weight_decay=[0.001, 0.01]"])
    assert config.tuning.search_space.weight_decay == [0.001, 0.01]


def test_a_column_is_either_categorical_or_numeric():
    both = r"columns \['a'\] are in both data.categorical_columns and data.numeric_columns"
    with pytest.raises(BadInputError, match=both):
        load_config(None, ["data.categorical_columns=[a, b]", "data.numeric_columns=[a, c]"])


def test_class_floors_by_name_and_slice_floors():
    config = load_config(
        None,
        [
            "evaluation.class_recall={2: 0.5, Gentoo: 1}",
            "evaluation.slice_min_accuracy={sex=male: 0.8}",
        ],
    )
    assert config.evaluation.class_recall == {"2": 0.5, "Gentoo": 1.0}
    assert config.evaluation.slice_min_accuracy == {"sex=male": 0.8}


def test_remote_runners_need_the_image_their_workers_run():
    with pytest.raises(BadInputError, match="set vertex.image to the image built from"):
        load_config(
            None,
            ["beam.runner=FlinkRunner", "beam.flink_master=flink:8081"],
        )
    config = load_config(
        None,
        ["beam.runner=FlinkRunner", "beam.flink_master=flink:8081", "vertex.image=img:1"],
    )
    assert config.beam.environment_type == "DOCKER"


def test_data_path_and_query_are_exclusive():
    with pytest.raises(BadInputError, match="set data.path .CSV. or data.query .BigQuery."):
        load_config(None, ["data.path=x.csv", "data.query=SELECT 1"])


def _field_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of a config model, dotted, in the order the code defines them."""
    keys = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            keys += _field_keys(field.annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def _yaml_keys(raw: dict, model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of a YAML mapping, descending where the model has a section."""
    keys = []
    for name, value in raw.items():
        field = model.model_fields.get(name)
        section = field.annotation if field else None
        if isinstance(section, type) and issubclass(section, BaseModel):
            keys += _yaml_keys(value, section, f"{prefix}{name}.")
        else:
            keys.append(prefix + str(name))
    return keys


def test_default_yaml_documents_every_key_with_its_default():
    path = os.path.join(REPO, "conf", "default.yaml")
    assert load_config(path) == load_config()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert _yaml_keys(yaml.safe_load(text), Config) == _field_keys(Config)
    undocumented = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert [line for line in undocumented if "  # " not in line] == []


def test_sections_dump_to_plain_json_with_the_field_names():
    config = load_config(None, ["evaluation.class_recall={2: 0.5}"])
    for section in (config.training, config.class_skew, config.evaluation, config.tuning):
        dumped = section.model_dump()
        assert json.loads(json.dumps(dumped)) == dumped
        assert list(dumped) == list(type(section).model_fields)
    assert config.class_skew.model_dump()["missing_class"] == {"threshold": 0.0, "action": "gate"}
    assert config.to_dict()["evaluation"]["class_recall"] == {"2": 0.5}
    assert Config() == Config()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.epochs=true", "config key 'training.epochs' must be of type int, got True"),
        ("training.seed=false", "config key 'training.seed' must be of type int, got False"),
        (
            "training.learning_rate=true",
            "config key 'training.learning_rate' must be of type float, got True",
        ),
        (
            "tuning.search_space.depth=[1, true]",
            "config key 'tuning.search_space.depth' must be of type int, got True",
        ),
    ],
)
def test_a_bool_is_not_a_number(override, message):
    with pytest.raises(BadInputError) as error:
        load_config(None, [override])
    assert str(error.value) == message


def test_unknown_key_inside_a_nested_check(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("class_skew:\n  min_class_count:\n    threshold: 5\n    level: gate\n")
    with pytest.raises(BadInputError) as error:
        load_config(str(path))
    assert str(error.value) == (
        "unknown config key 'class_skew.min_class_count.level' "
        "Valid keys in class_skew.min_class_count: threshold, action"
    )


def test_a_partial_check_keeps_that_checks_own_defaults():
    config = load_config(None, ["class_skew.min_class_count.action=gate"])
    assert config.class_skew.min_class_count.threshold == 10.0
    assert config.class_skew.missing_label == Config().class_skew.missing_label


def test_single_values_become_one_element_lists():
    config = load_config(
        None,
        ["training.hidden_units=16", "tuning.search_space.loss=focal", "evaluation.slices=7"],
    )
    assert config.training.hidden_units == [16]
    assert config.tuning.search_space.loss == ["focal"]
    assert config.evaluation.slices == ["7"]


def test_numbers_become_text_where_text_is_expected():
    config = load_config(
        None,
        ["evaluation.class_recall={2: 0.5, 3: 1}", "vertex.labels={version: 2}", "data.label=7"],
    )
    assert config.evaluation.class_recall == {"2": 0.5, "3": 1.0}
    assert all(isinstance(key, str) for key in config.evaluation.class_recall)
    assert config.vertex.labels == {"version": "2"}
    assert config.data.label == "7"


def test_every_type_problem_is_named_at_once():
    with pytest.raises(BadInputError) as error:
        load_config(None, ["training.epochs=many", "training.dropout=high"])
    assert str(error.value) == (
        "config key 'training.epochs' must be of type int, got 'many'; "
        "config key 'training.dropout' must be of type float, got 'high'"
    )


@pytest.mark.parametrize(
    ("override", "start"),
    [
        ("training.epochs=many", "config key 'training.epochs' must be of type int"),
        ("training.hidden_units=[8, x]", "config key 'training.hidden_units' must be of type int"),
        ("evaluation.class_recall={true: 1}", "config key 'evaluation.class_recall' must be of"),
        ("evaluation.class_recall={a: x}", "config key 'evaluation.class_recall.a' must be of"),
        ("vertex.labels=[a]", "config key 'vertex.labels' must be a mapping, got ['a']"),
        ("class_skew.missing_class=5", "class_skew.missing_class must be a mapping, got 5"),
        ("data.schema=[a]", "config key 'data.schema' must be of type str, got ['a']"),
        ("training.epoch=3", "unknown config key 'training.epoch'; did you mean 'epochs'?"),
        ("training.loss=hinge", "invalid config: training.loss must be one of cross_entropy, "),
    ],
)
def test_no_pydantic_error_reaches_the_user(override, start):
    with pytest.raises(BadInputError) as error:
        load_config(None, [override])
    message = str(error.value)
    assert message.startswith(start)
    assert "validation error" not in message.lower()
    assert "pydantic" not in message and "Input should" not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_yaml_python_tags_are_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  path: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(BadInputError, match="is not valid YAML"):
        load_config(str(path))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ([], CsvFormat(",", "utf-8", ())),
        (
            ["data.delimiter=;", "data.missing_values=?", "data.decimal=,"],
            CsvFormat(";", "utf-8", ("?",), ","),
        ),
        (["data.delimiter=\\t", "data.encoding=latin-1"], CsvFormat("\t", "latin-1", ())),
        (
            ['data.delimiter="\\t"', "data.missing_values=['?', NA]"],
            CsvFormat("\t", "utf-8", ("?", "NA")),
        ),
    ],
)
def test_how_the_csv_files_are_written(overrides, expected):
    assert load_config(None, overrides).data.csv_format() == expected


def test_superclass_floors_need_a_hierarchy():
    with pytest.raises(BadInputError, match=r"min_superclass_recall bounds superclasses: set data"):
        load_config(None, ["evaluation.min_superclass_recall=0.5"])
    config = load_config(
        None,
        ["evaluation.min_superclass_recall=0.5", "data.hierarchy=data/kddcup_hierarchy.csv"],
    )
    assert config.evaluation.min_superclass_recall == 0.5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["vertex.training.accelerator_count=1"],
            r"vertex.training.accelerator_count needs vertex.training.accelerator_type",
        ),
        (
            ["vertex.training.accelerator_type=NVIDIA_TESLA_T4"],
            r"accelerator_type NVIDIA_TESLA_T4 needs vertex.training.accelerator_count >= 1",
        ),
        (
            [
                "vertex.training.accelerator_type=NVIDIA_GTX_1080",
                "vertex.training.accelerator_count=1",
            ],
            r"vertex.training.accelerator_type must be one of NVIDIA_TESLA_T4, .* or '' \(none\), "
            r"got 'NVIDIA_GTX_1080'",
        ),
        (["vertex.training.replica_count=0"], r"vertex.training.replica_count must be >= 1"),
        (["vertex.training.parallel_trials=0"], r"vertex.training.parallel_trials must be >= 1"),
        (
            ["vertex.training.replica_count=2"],  # training.model: gbt, the default
            r"replica_count > 1 trains the MLP .* set replica_count to 1, or training.model to mlp",
        ),
        (
            ["vertex.training.enabled=true", "vertex.project=p", "vertex.region=europe-west4"],
            r"enabled needs vertex.image: .* or set vertex.training.enabled to false",
        ),
        (
            ["vertex.training.enabled=true", "vertex.image=img:1"],
            r"enabled needs vertex.project, vertex.region \(or vertex.training.region\)",
        ),
    ],
)
def test_impossible_vertex_training_jobs_are_named_with_their_fix(overrides, message):
    with pytest.raises(BadInputError, match=message):
        load_config(None, overrides)
