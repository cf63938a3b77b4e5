"""Why the boosted trees have an L2 penalty on leaf values: their macro-F1 round by round.

On the fixed split of bench/common.py, with the Trainer's validation rows and
class weights, fits scikit-learn's HistGradientBoostingClassifier (the `gbt`
family) with each L2 penalty and prints validation and test macro-F1 every 5
rounds. Text columns become integer codes, as Transform's vocabularies do.

    .venv/bin/python bench/trees_l2.py kddcup --l2 0,1,10 [--weights effective_number]
"""

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd
from common import LABELS, REPO, split
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score

sys.path.insert(0, REPO)
from components.modules.class_weights import class_weights  # noqa: E402
from components.modules.training import validation_rows  # noqa: E402


def features(frame: pd.DataFrame, label: str) -> np.ndarray:
    columns = frame.drop(columns=[label])
    for name in columns.select_dtypes(exclude="number"):
        columns[name] = columns[name].astype("category").cat.codes
    return columns.to_numpy(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(LABELS))
    parser.add_argument("--l2", default="0,1,10", help="comma-separated penalties")
    parser.add_argument("--weights", default="effective_number", help="class weight strategy")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1, help="draws the validation rows")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "trees_l2"))
    args = parser.parse_args()
    label = LABELS[args.dataset]
    train_path, test = split(args.dataset, args.workdir)
    train = pd.read_csv(train_path)
    names = train[label].astype(str)
    index = {name: i for i, name in enumerate(names.value_counts().index)}
    y, x = names.map(index).to_numpy(), features(train, label)
    y_test = test[label].astype(str).map(lambda name: index.get(name, -1)).to_numpy()
    x_test = features(test, label)
    held_out = validation_rows(y, 15, args.seed)
    counts = np.bincount(y, minlength=len(index)).tolist()
    weights = class_weights(counts, args.weights, 0.999, 100.0)
    for l2 in (float(value) for value in args.l2.split(",")):
        start = time.monotonic()
        model = HistGradientBoostingClassifier(
            max_iter=args.rounds, early_stopping=False, l2_regularization=l2, random_state=1
        )
        model.fit(x[~held_out], y[~held_out], sample_weight=weights[y[~held_out]])
        curves = {
            part: [
                round(f1_score(labels, p.argmax(axis=1), average="macro"), 3)
                for p in model.staged_predict_proba(rows)
            ][4::5]
            for part, rows, labels in (
                ("validation", x[held_out], y[held_out]),
                ("test", x_test, y_test),
            )
        }
        print(f"l2 {l2}: {time.monotonic() - start:.0f} s, every 5 rounds:", flush=True)
        for part, curve in curves.items():
            print(f"  {part:10} macro-F1 {curve}", flush=True)


if __name__ == "__main__":
    main()
