"""Do the boosted trees gain from treating int-coded columns as categories?

On the fixed split of bench/common.py, fits the balanced HistGradientBoosting
script's model (the baseline of bench/compare.py) with the int columns of at
most 32 distinct values given four ways, and prints test macro-F1 and balanced
accuracy over model seeds:

- raw: the codes as numbers (what the `gbt` family does with z-scores);
- native categorical: scikit-learn's categorical splits on the codes;
- frequency rank: each code replaced by its rank by train count (what a
  Transform vocabulary gives);
- raw + rank: both.

    .venv/bin/python bench/trees_int_codes.py fars --seeds 1,2,3
"""

import argparse
import os

import numpy as np
import pandas as pd
from common import LABELS, REPO, split
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import balanced_accuracy_score, f1_score

MAX_VALUES = 32


def frequency_rank(train: pd.Series, other: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes -> rank by train count; codes not seen in train get the next rank."""
    ranks = {code: rank for rank, code in enumerate(train.value_counts().index)}
    unseen = len(ranks)
    return train.map(ranks).to_numpy(), other.map(ranks).fillna(unseen).to_numpy()


def variants(train: pd.DataFrame, test: pd.DataFrame, codes: list[str]) -> dict:
    """Name -> (train matrix, test matrix, categorical column indices or None)."""
    ranked_train, ranked_test = train.copy(), test.copy()
    for column in codes:
        ranked_train[column], ranked_test[column] = frequency_rank(train[column], test[column])
    positions = [list(train.columns).index(column) for column in codes]
    extra_train, extra_test = ranked_train[codes].to_numpy(), ranked_test[codes].to_numpy()
    return {
        "raw": (train.to_numpy(), test.to_numpy(), None),
        "native categorical": (ranked_train.to_numpy(), ranked_test.to_numpy(), positions),
        "frequency rank": (ranked_train.to_numpy(), ranked_test.to_numpy(), None),
        "raw + rank": (
            np.hstack([train.to_numpy(), extra_train]),
            np.hstack([test.to_numpy(), extra_test]),
            None,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(LABELS))
    parser.add_argument("--seeds", default="1,2,3", help="model seeds")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "int_codes"))
    args = parser.parse_args()
    label = LABELS[args.dataset]
    train_path, test = split(args.dataset, args.workdir)
    train = pd.read_csv(train_path)
    y_train, y_test = train.pop(label).astype(str), test.pop(label).astype(str)
    for column in train.select_dtypes(exclude="number"):  # text: codes, as a vocabulary gives
        categories = train[column].astype("category").cat.categories
        train[column] = pd.Categorical(train[column], categories).codes
        test[column] = pd.Categorical(test[column], categories).codes
    codes = [
        column
        for column in train
        if pd.api.types.is_integer_dtype(train[column]) and train[column].nunique() <= MAX_VALUES
    ]
    print(f"{args.dataset}: {len(codes)} of {train.shape[1]} columns are int codes")
    for name, (x_train, x_test, categorical) in variants(train, test, codes).items():
        f1, balanced = [], []
        for seed in (int(s) for s in args.seeds.split(",")):
            model = HistGradientBoostingClassifier(
                class_weight="balanced", categorical_features=categorical, random_state=seed
            )
            predicted = model.fit(x_train, y_train).predict(x_test)
            f1.append(f1_score(y_test, predicted, average="macro"))
            balanced.append(balanced_accuracy_score(y_test, predicted))
        print(
            f"{name:20} macro-F1 {np.mean(f1):.4f} ± {np.std(f1):.4f}  "
            f"balanced accuracy {np.mean(balanced):.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
