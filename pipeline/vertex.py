"""Compiles the pipeline for Vertex AI / Kubeflow Pipelines v2 and submits it.

Compiling is offline (no network, no credentials): KubeflowV2DagRunner turns
the same create_pipeline DAG the local run uses into a pipeline spec. Every
component and module function is named by a dotted path into this package,
which the image built from the Dockerfile installs.
"""

import json
import os

import yaml

from components.modules.errors import BadInputError, PipelineError
from pipeline.config import Config

# The Dockerfile copies the repository's schema/ folder here.
IMAGE_SCHEMA_DIR = "/pipeline/schema"
REPO_SCHEMA_DIR = "schema"


def compile_vertex(config: Config, output_file: str) -> str:
    """Writes the Vertex AI / KFP v2 spec (JSON, or YAML by extension) and returns its path.

    Raises:
      BadInputError: a setting the compiled pipeline needs is missing.
    """
    missing = [
        key
        for key, value in (
            ("data.path or data.query", config.data.path or config.data.query),
            ("data.label", config.data.label),
            ("vertex.image", config.vertex.image),
            ("vertex.pipeline_root", config.vertex.pipeline_root),
        )
        if not value
    ]
    if missing:
        raise BadInputError(
            f"compiling for Vertex needs {', '.join(missing)}; set them in --config or with --set"
        )
    if not config.vertex.pipeline_root.startswith("gs://"):
        raise BadInputError(
            f"vertex.pipeline_root must be a gs:// path, got {config.vertex.pipeline_root!r}"
        )
    from tfx import v1 as tfx

    from pipeline.pipeline import OutputPaths, create_pipeline

    pipeline = create_pipeline(
        config,
        OutputPaths(config.vertex.pipeline_root.rstrip("/")),
        schema_file=image_schema_path(config.data.schema) if config.data.schema else None,
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=config.vertex.image
        )
    )
    spec = runner.run(pipeline, write_out=False)
    with open(output_file, "w", encoding="utf-8") as f:
        if output_file.endswith((".yaml", ".yml")):
            yaml.safe_dump(spec, f, sort_keys=False)
        else:
            json.dump(spec, f, indent=2)
    return output_file


def image_schema_path(schema: str) -> str:
    """Where the image holds a curated schema from the repository's schema/ folder.

    Raises:
      BadInputError: the schema is not in schema/, so the image does not have it.
    """
    relative = os.path.relpath(os.path.abspath(schema), os.path.abspath(REPO_SCHEMA_DIR))
    if relative.startswith(os.pardir) or not os.path.isfile(schema):
        raise BadInputError(
            f"curated schema {schema!r} must be a file in the repository's {REPO_SCHEMA_DIR}/ "
            "folder (run compile from the repository root): the image built from the "
            f"Dockerfile holds that folder at {IMAGE_SCHEMA_DIR}. Move it there and rebuild "
            "the image."
        )
    return f"{IMAGE_SCHEMA_DIR}/{relative}"


def submit_vertex(config: Config, spec_file: str, wait: bool = False) -> str:
    """Submits a compiled spec as a Vertex AI pipeline job; returns the job's console URL.

    Project, region, service account and labels come from the `vertex` config
    section; the pipeline root and image are those compiled into the spec.

    Raises:
      BadInputError: missing settings, an unreadable spec or no credentials.
      PipelineError: Vertex AI refused the job or the job failed (with --wait).
    """
    missing = [key for key in ("project", "region") if not getattr(config.vertex, key)]
    if missing:
        raise BadInputError(
            f"submitting needs {', '.join('vertex.' + key for key in missing)}; "
            "set them in --config or with --set"
        )
    display_name = _read_spec(spec_file).get("displayName") or config.pipeline.name

    import google.auth
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions
    from google.cloud import aiplatform

    try:
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
    except auth_exceptions.DefaultCredentialsError:
        raise BadInputError(
            "no Google Cloud credentials found, so nothing was submitted: run "
            "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS "
            "to a service-account key file"
        ) from None
    job = aiplatform.PipelineJob(
        display_name=display_name,
        template_path=spec_file,
        enable_caching=config.pipeline.enable_cache,
        labels=config.vertex.labels or None,
        credentials=credentials,
        project=config.vertex.project,
        location=config.vertex.region,
    )
    try:
        job.submit(service_account=config.vertex.service_account or None)
        if wait:
            job.wait()
    except auth_exceptions.GoogleAuthError as error:
        raise BadInputError(
            f"Google Cloud credentials were refused ({error}); refresh them with "
            "`gcloud auth application-default login`"
        ) from None
    except api_exceptions.GoogleAPICallError as error:
        raise PipelineError(
            f"Vertex AI refused the pipeline job in project {config.vertex.project!r}, "
            f"region {config.vertex.region!r}: {error.message}"
        ) from None
    except RuntimeError as error:  # job.wait() on a failed or cancelled job
        raise PipelineError(f"the Vertex AI pipeline job did not succeed: {error}") from None
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{config.vertex.region}"
        f"/pipelines/runs/{job.name}?project={config.vertex.project}"
    )


def _read_spec(spec_file: str) -> dict:
    if not os.path.isfile(spec_file):
        raise BadInputError(
            f"compiled spec {spec_file!r} does not exist; create it with "
            "`pipeline_runner.py compile --target vertex --output FILE`"
        )
    with open(spec_file, encoding="utf-8") as f:
        try:
            spec = yaml.safe_load(f)  # YAML is a superset of JSON
        except yaml.YAMLError as error:
            raise BadInputError(f"{spec_file!r} is not JSON or YAML: {error}") from None
    if not isinstance(spec, dict) or "pipelineSpec" not in spec:
        raise BadInputError(
            f"{spec_file!r} is not a compiled pipeline spec (no pipelineSpec); "
            "create it with `pipeline_runner.py compile`"
        )
    return spec
