"""The distribution strategy and the exporting process, from TF_CONFIG."""

import json

import pytest
import tensorflow as tf

from components.modules import distribute


def _tf_config(monkeypatch, cluster: dict, task_type: str, index: int) -> None:
    config = {"cluster": cluster, "task": {"type": task_type, "index": index}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))


def test_without_tf_config_one_process_trains_with_the_default_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribute.strategy_from_environment()
    assert distribute.strategy_name(strategy) == "default"
    assert strategy.num_replicas_in_sync == 1
    assert not distribute.needs_own_loop(strategy)
    assert distribute.is_chief()


@pytest.mark.parametrize(
    ("cluster", "task_type", "index", "chief"),
    [
        ({"chief": ["a:1"], "worker": ["b:1"]}, "chief", 0, True),
        ({"chief": ["a:1"], "worker": ["b:1"]}, "worker", 0, False),
        ({"worker": ["a:1", "b:1"]}, "worker", 0, True),  # Vertex-less clusters: worker 0
        ({"worker": ["a:1", "b:1"]}, "worker", 1, False),
        ({"master": ["a:1"], "worker": ["b:1"]}, "master", 0, True),  # the legacy name
    ],
)
def test_only_the_chief_exports(monkeypatch, cluster, task_type, index, chief):
    _tf_config(monkeypatch, cluster, task_type, index)
    assert distribute.is_chief() is chief


def test_the_global_batch_is_shared_out_by_data_not_by_file():
    dataset = distribute.shard_by_data(tf.data.Dataset.range(10).batch(4))
    policy = dataset.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA
