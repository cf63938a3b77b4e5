"""Submitting a compiled spec to Vertex AI Pipelines, tested up to the API call.

The real aiplatform.PipelineJob builds the request; only the two network calls
(the pipeline-service RPC and the GCS bucket check) are replaced.
"""

import os
import subprocess
import sys

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform.utils import gcs_utils
from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
from google.cloud.aiplatform_v1.types import PipelineJob

import pipeline_runner
from components.modules.errors import ExitCode
from tests.conftest import REPO

VERTEX = [
    "vertex.image=europe-docker.pkg.dev/my-project/ml/imbalanced-tfx:0.1.0",
    "vertex.pipeline_root=gs://my-bucket/imbalanced",
]
SUBMIT = [
    "vertex.project=my-project",
    "vertex.region=europe-west4",
    "vertex.service_account=pipelines@my-project.iam.gserviceaccount.com",
    "vertex.labels={team: fraud-ml, env: dev}",
]


def _sets(overrides):
    return [arg for override in overrides for arg in ("--set", override)]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("spec") / "pipeline.json")
    argv = ["compile", "--output", path, "--data", "gs://my-bucket/shuttle.csv.gz"]
    assert pipeline_runner.main([*argv, "--label", "target", *_sets(VERTEX)]) == 0
    return path


@pytest.fixture
def vertex_api(monkeypatch):
    """Stands in for Vertex AI: records the create request instead of sending it."""
    requests = []

    def create_pipeline_job(self, parent, pipeline_job, pipeline_job_id=None, **kwargs):
        requests.append({"parent": parent, "job": pipeline_job, "job_id": pipeline_job_id})
        created = PipelineJob(pipeline_job)
        created.name = f"{parent}/pipelineJobs/{pipeline_job_id}"
        return created

    monkeypatch.setattr(PipelineServiceClient, "create_pipeline_job", create_pipeline_job)
    monkeypatch.setattr(
        gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist", lambda **k: None
    )
    monkeypatch.setattr(
        "google.auth.default", lambda scopes=None: (AnonymousCredentials(), "my-project")
    )
    return requests


def test_submit_sends_the_compiled_spec_with_config_settings(spec, vertex_api, capsys):
    assert pipeline_runner.main(["submit", "--spec", spec, *_sets(SUBMIT)]) == 0
    (request,) = vertex_api
    job = request["job"]
    assert request["parent"] == "projects/my-project/locations/europe-west4"
    assert job.service_account == "pipelines@my-project.iam.gserviceaccount.com"
    assert dict(job.labels).items() >= {"team": "fraud-ml", "env": "dev"}.items()
    assert job.runtime_config.gcs_output_directory == "gs://my-bucket/imbalanced/pipeline"
    assert job.display_name == "imbalanced-multiclass"
    tasks = job.pipeline_spec["root"]["dag"]["tasks"]
    assert {"CsvExampleGen", "Trainer", "ClassAwareEvaluator", "Pusher"} <= set(tasks)
    printed = capsys.readouterr().out
    assert "console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/" in printed


def test_refused_job_is_one_clear_error(spec, vertex_api, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise api_exceptions.PermissionDenied("aiplatform.pipelineJobs.create denied")

    monkeypatch.setattr(PipelineServiceClient, "create_pipeline_job", refuse)
    assert pipeline_runner.main(["submit", "--spec", spec, *_sets(SUBMIT)]) == 1
    error = capsys.readouterr().err
    assert "Vertex AI refused the pipeline job in project 'my-project'" in error
    assert "pipelineJobs.create denied" in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "vertex.region=europe-west4"], "submitting needs vertex.project"),
        (["--spec", "missing.json", *_sets(SUBMIT)], "compiled spec 'missing.json' does not exist"),
    ],
)
def test_missing_settings_are_named(argv, message, capsys):
    assert pipeline_runner.main(["submit", *argv]) == ExitCode.BAD_INPUT
    assert message in capsys.readouterr().err


def test_not_a_spec_is_refused(tmp_path, capsys):
    path = tmp_path / "pipeline.json"
    path.write_text('{"pipeline": 1}')
    assert pipeline_runner.main(["submit", "--spec", str(path), *_sets(SUBMIT)]) == 2
    assert "is not a compiled pipeline spec" in capsys.readouterr().err


def test_without_credentials_nothing_is_submitted(spec, tmp_path):
    """A real CLI process with no credentials anywhere: google.auth finds none."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOOGLE_", "CLOUDSDK_", "GCE_"))
    }
    env.update(HOME=str(tmp_path), CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), NO_GCE_CHECK="true")
    result = subprocess.run(
        [sys.executable, "pipeline_runner.py", "submit", "--spec", spec, *_sets(SUBMIT)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert "no Google Cloud credentials found, so nothing was submitted" in result.stderr
    assert "gcloud auth application-default login" in result.stderr
    assert "Traceback" not in result.stderr
