# Worker image for Vertex AI / Kubeflow Pipelines: the official TFX 1.21 image plus this
# package, so the module paths in the compiled spec (components.modules.training.run_fn,
# components.evaluator.component.Executor, ...) import on every step.
#   make image IMAGE=us-docker.pkg.dev/PROJECT/REPO/imbalanced-tfx:0.1.0
FROM gcr.io/tfx-oss-public/tfx:1.21.0

# The spec reads curated schemas as /pipeline/schema/<file>.
WORKDIR /pipeline
COPY schema/ /pipeline/schema/

# The image sets TF_USE_LEGACY_KERAS=1 (tf.keras -> Keras 2); the pipeline is built and
# tested with Keras 3, so use it here too.
ENV TF_USE_LEGACY_KERAS=0

# The TFX image runs Python 3.10 (conda, /opt/conda) with the TFX 1.21 stack Google built and
# tested for it, some C++ wheels compiled from source for its glibc. constraints.txt locks
# the Python 3.11 environment (numpy 2.4, keras 3.15, matplotlib 3.11 need >= 3.11), so it
# cannot resolve here: install this package alone, without touching that stack, with the
# interpreter the spec runs (`python -m tfx...`) and the image's own setuptools (no unpinned
# build download), then fail the build if the TFX version or a module the spec names does not
# import.
COPY setup.py pyproject.toml pipeline_runner.py ./
COPY pipeline/ pipeline/
COPY components/ components/
# scikit-learn fits the boosted trees in the Trainer (serving needs only TensorFlow).
RUN python -m pip install --no-cache-dir "scikit-learn==1.5.2" \
    && python -m pip install --no-cache-dir --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info \
    && python -I -c "import tfx; assert tfx.__version__ == '1.21.0', tfx.__version__" \
    && python -I -c "import components.class_skew.component, components.example_gen.component, components.data_gate.component, components.evaluator.component, components.evaluator.tfma_metrics, components.pusher.component, components.row_counts.component, components.modules.preprocessing, components.modules.training, components.modules.tuning, tfx.extensions.google_cloud_ai_platform.trainer.executor, tfx.extensions.google_cloud_ai_platform.tuner.executor, sklearn.ensemble"
