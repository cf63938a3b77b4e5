"""Shared fixtures: small real samples of the bundled data sets."""

import os

import pandas as pd
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "data")


def stratified_sample(frame: pd.DataFrame, label: str, per_class: int, seed: int = 0):
    """At most `per_class` rows of every class, shuffled; keeps the rare classes whole."""
    parts = [
        group.sample(min(len(group), per_class), random_state=seed)
        for _, group in frame.groupby(label)
    ]
    return pd.concat(parts).sample(frac=1, random_state=seed)


def _write_sample(tmp_path_factory, name: str, label: str, per_class: int, suffix: str) -> str:
    frame = pd.read_csv(os.path.join(DATA, f"{name}.csv.gz"))
    path = tmp_path_factory.mktemp(name) / f"{name}_sample{suffix}"
    stratified_sample(frame, label, per_class).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def shuttle_sample(tmp_path_factory) -> str:
    """~670 real shuttle rows, all 7 classes (int labels), as a gzipped CSV."""
    return _write_sample(tmp_path_factory, "shuttle", "target", 150, ".csv.gz")


@pytest.fixture(scope="session")
def fars_sample(tmp_path_factory) -> str:
    """~700 real FARS rows, 8 classes; column names contain '/', '-' and '('."""
    return _write_sample(tmp_path_factory, "fars", "target", 100, ".csv")


@pytest.fixture(scope="session")
def penguins_csv(tmp_path_factory) -> str:
    """palmerpenguins: string label and features, missing values, a year column."""
    import palmerpenguins

    path = tmp_path_factory.mktemp("penguins") / "penguins.csv"
    palmerpenguins.load_penguins().to_csv(path, index=False)
    return str(path)
