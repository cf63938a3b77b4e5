"""The local run: what it refuses before anything starts."""

import pytest

from components.modules.errors import BadInputError
from pipeline.config import load_config
from pipeline.runners import run_local


def test_a_local_run_refuses_vertex_training(tmp_path):
    config = load_config(
        None,
        [
            "vertex.training.enabled=true",
            "vertex.image=img:1",
            "vertex.project=p",
            "vertex.region=europe-west4",
        ],
        data__path="x.csv",
        data__label="target",
        pipeline__output=str(tmp_path / "output"),
    )
    with pytest.raises(BadInputError, match=r"set it false for local runs"):
        run_local(config)
    assert not (tmp_path / "output").exists()
