"""The Pusher's copy is staged and renamed: serving/ never shows a partial model."""

import os

import pytest
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.pusher.component import SOURCE_PREFIX, STAGING_PREFIX, Executor


def _fake_model(root) -> standard_artifacts.Model:
    """A Trainer Model artifact whose Format-Serving folder looks like a SavedModel."""
    saved_model = root / "model" / "Format-Serving"
    (saved_model / "variables").mkdir(parents=True, exist_ok=True)
    (saved_model / "assets.extra").mkdir(exist_ok=True)
    (saved_model / "saved_model.pb").write_bytes(b"graph")
    (saved_model / "variables" / "variables.index").write_bytes(b"index")
    (saved_model / "variables" / "variables.data-00000-of-00001").write_bytes(b"data")
    (saved_model / "assets.extra" / "class_names.json").write_text('["a", "b"]')
    model = standard_artifacts.Model()
    model.uri = str(root / "model")
    return model


def _push(tmp_path, serving, blessed=True) -> standard_artifacts.PushedModel:
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed_model")
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(serving))
    )
    Executor().Do(
        {"model": [_fake_model(tmp_path)], "model_blessing": [blessing]},
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination), "custom_config": "null"},
    )
    return pushed


def _numeric(serving) -> list[str]:
    return [name for name in os.listdir(serving) if name.isdigit()]


def test_the_model_is_renamed_into_place_whole(tmp_path):
    serving = tmp_path / "serving"
    pushed = _push(tmp_path, serving)
    (version,) = _numeric(serving)
    assert sorted(os.listdir(serving)) == [f"{SOURCE_PREFIX}{version}", version]  # no staging
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_version") == version
    assert pushed.get_string_custom_property("pushed_destination") == str(serving / version)
    source = tmp_path / "model" / "Format-Serving"
    copied = {str(p.relative_to(serving / version)) for p in (serving / version).rglob("*")}
    assert copied == {str(p.relative_to(source)) for p in source.rglob("*")}
    assert (serving / version / "saved_model.pb").read_bytes() == b"graph"


def test_nothing_numeric_appears_while_the_model_is_copied(tmp_path, monkeypatch):
    """What a SIGKILL at any point of the copy would leave: only the hidden staging folder."""
    serving = tmp_path / "serving"
    seen = []
    copy = fileio.copy

    def observed_copy(src, dst, overwrite=False):
        if dst.startswith(str(serving)):
            seen.append(sorted(os.listdir(serving)))
        copy(src, dst, overwrite)

    monkeypatch.setattr(fileio, "copy", observed_copy)
    _push(tmp_path, serving)
    assert len(seen) == 4  # every file of the model
    assert all(len(names) == 1 and names[0].startswith(STAGING_PREFIX) for names in seen)


def test_a_failed_copy_leaves_nothing_in_serving(tmp_path, monkeypatch):
    serving = tmp_path / "serving"

    def failing_copy(src, dst, overwrite=False):
        raise OSError("disk full")

    monkeypatch.setattr(fileio, "copy", failing_copy)
    with pytest.raises(OSError, match="disk full"):
        _push(tmp_path, serving)
    assert os.listdir(serving) == []


def test_staging_folders_of_killed_runs_are_removed(tmp_path):
    serving = tmp_path / "serving"
    stale = serving / f"{STAGING_PREFIX}12345" / "1700000000" / "variables"
    stale.mkdir(parents=True)
    (stale / "variables.index").write_bytes(b"partial")
    _push(tmp_path, serving)
    assert len(_numeric(serving)) == 1
    assert not [name for name in os.listdir(serving) if name.startswith(STAGING_PREFIX)]


def test_an_unblessed_model_is_not_pushed(tmp_path):
    serving = tmp_path / "serving"
    pushed = _push(tmp_path, serving, blessed=False)
    assert pushed.get_int_custom_property("pushed") == 0
    assert not serving.exists()


def test_the_same_model_is_not_pushed_twice(tmp_path):
    """An unchanged rerun re-blesses the cached Trainer output: no second copy."""
    serving = tmp_path / "serving"
    first = _push(tmp_path, serving)
    again = _push(tmp_path, serving)
    assert _numeric(serving) == [first.get_string_custom_property("pushed_version")]
    assert again.get_int_custom_property("pushed") == 1
    assert again.get_string_custom_property(
        "pushed_destination"
    ) == first.get_string_custom_property("pushed_destination")
