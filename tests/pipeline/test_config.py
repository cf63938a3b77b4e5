"""Config loading: defaults, YAML, --set overrides and every kind of bad value."""

import pytest

from pipeline.config import Config, load_config
from pipeline.errors import BadInputError, ExitCode


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
    ],
)
def test_bad_values_raise_bad_input(override, message):
    with pytest.raises(BadInputError, match=message) as error:
        load_config(None, [override])
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
    config = load_config(None, ["tuning.enabled=true", "tuning.search_space.loss=[focal]"])
    assert config.tuning.enabled is True
    assert config.tuning.search_space.loss == ["focal"]
    assert config.tuning.search_space.depth == [1, 2, 3]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.class_weights=inverse", r"training.class_weights must be one of none, balanced"),
        ("training.loss=hinge", r"training.loss must be one of"),
        (
            "class_skew.missing_class.action=panic",
            r"class_skew.missing_class.action must be one of",
        ),
        ("tuning.search_space.loss=[focal, hinge]", r"search_space.loss must be one of.*'hinge'"),
        ("tuning.search_space.width=[]", r"search_space.width must list at least one value"),
        ("training.effective_number_beta=1", r"effective_number_beta must be in \[0, 1\)"),
        (
            "class_skew.missing_class.limit=1",
            r"unknown config key 'class_skew.missing_class.limit'",
        ),
    ],
)
def test_bad_imbalance_settings(override, message):
    with pytest.raises(BadInputError, match=message):
        load_config(None, [override])


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
