"""Pusher that never leaves a partial SavedModel where a model server looks.

The stock TFX Pusher copies the model file by file straight into
`serving/<version>`, so a run killed mid-copy leaves a numeric directory with
part of a model in it, which TF Serving would try to load. This executor lets
the stock one copy into a hidden staging directory inside the serving directory
(`serving/.incomplete-<pid>/<version>`; TF Serving only loads numeric names)
and then renames the finished copy into place, which os.rename does atomically
on one filesystem. The next push removes staging directories of killed runs
(one run at a time per output directory, as ML Metadata requires anyway).

A model already in serving/ is not copied again: the rerun of an unchanged
pipeline re-blesses the same Trainer output (its baseline is now that model),
and a second, byte-identical version would only make a model server reload.
A hidden `.source-<version>` file beside each version names the model it holds.

Object stores (gs://, as on Vertex AI) have no atomic directory rename: there
the stock copy applies, which writes saved_model.pb last, the file TF Serving
takes as the sign that a model is complete.
"""

import glob
import os
import shutil

from absl import logging
from tfx.components.pusher import component as tfx_pusher
from tfx.components.pusher import executor as tfx_executor
from tfx.dsl.components.base import executor_spec
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

STAGING_PREFIX = ".incomplete-"
SOURCE_PREFIX = ".source-"


class Executor(tfx_executor.Executor):
    """The stock push into a staging directory, then one rename into place."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        key = standard_component_specs.PUSH_DESTINATION_KEY
        destination = proto_utils.json_to_proto(exec_properties[key], pusher_pb2.PushDestination())
        serving = destination.filesystem.base_directory
        if not serving or "://" in serving:
            super().Do(input_dict, output_dict, exec_properties)
            return
        for stale in glob.glob(os.path.join(serving, STAGING_PREFIX + "*")):
            logging.info("Removing %s, left by an interrupted push.", stale)
            shutil.rmtree(stale)
        model_uri = artifact_utils.get_single_uri(input_dict[standard_component_specs.MODEL_KEY])
        version = _version_holding(serving, model_uri)
        if version is not None and self.CheckBlessing(input_dict):
            pushed = artifact_utils.get_single_instance(
                output_dict[standard_component_specs.PUSHED_MODEL_KEY]
            )
            target = os.path.join(serving, version)
            self._MarkPushed(pushed, pushed_destination=target, pushed_version=version)
            logging.info("This model is already in serving as %s; not copied again.", target)
            return
        staging = os.path.join(serving, f"{STAGING_PREFIX}{os.getpid()}")
        destination.filesystem.base_directory = staging
        try:
            super().Do(
                input_dict,
                output_dict,
                {**exec_properties, key: proto_utils.proto_to_json(destination)},
            )
            pushed = artifact_utils.get_single_instance(
                output_dict[standard_component_specs.PUSHED_MODEL_KEY]
            )
            if pushed.get_int_custom_property("pushed") == 1:
                version = pushed.get_string_custom_property("pushed_version")
                target = os.path.join(serving, version)
                os.rename(os.path.join(staging, version), target)  # raises if it exists
                with open(os.path.join(serving, SOURCE_PREFIX + version), "w") as f:
                    f.write(model_uri)
                self._MarkPushed(pushed, pushed_destination=target, pushed_version=version)
                logging.info("Model moved into place at %s.", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _version_holding(serving: str, model_uri: str) -> str | None:
    """The serving version already holding the model at `model_uri`, if any."""
    for source in glob.glob(os.path.join(serving, SOURCE_PREFIX + "*")):
        version = os.path.basename(source).removeprefix(SOURCE_PREFIX)
        with open(source) as f:
            if f.read() == model_uri and os.path.isdir(os.path.join(serving, version)):
                return version
    return None


class Pusher(tfx_pusher.Pusher):
    """The stock Pusher (same id, inputs and outputs) with the atomic push."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
