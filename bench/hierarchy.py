"""Hierarchical vs flat loss on kddcup with its attack categories, over seeds.

Every variant runs with data.hierarchy (so all serve superclass scores); each
sets training.superclass_loss_weight, 0 being the flat loss. Scored on the untouched 20 %
of the fixed split through serving_default: fine macro-F1, superclass macro-F1
(the predicted class's superclass), and the wrong predictions whose superclass
is wrong too, as a share of the errors and as a count:

    .venv/bin/python bench/hierarchy.py --seeds 1,2,3 --weights 0,1 --set training.model=mlp

--name tells the run directories of variants with other --set overrides apart.
"""

import argparse
import json
import os

import numpy as np
import pandas as pd
from common import DATA_DIR, LABELS, REPO, named_classes, pipeline_command, served_batches, split
from compare import run_tfx
from sklearn.metrics import f1_score

DATASET = "kddcup"
HIERARCHY = os.path.join(DATA_DIR, "kddcup_hierarchy.csv")


def level_scores(truth: pd.Series, predicted: np.ndarray, superclass_of: pd.Series) -> dict:
    """Macro-F1 of the classes and of their superclasses, and the cross-superclass errors.

    cross_superclass_errors is their share of the errors, cross_superclass_error_count
    their number (every wrong superclass is also a wrong class).
    """
    truth = truth.astype(str).to_numpy()
    upper_truth = superclass_of[truth].to_numpy()
    upper_predicted = superclass_of[predicted].to_numpy()
    wrong = truth != predicted
    crossing = upper_truth != upper_predicted
    return {
        "macro_f1": f1_score(truth, predicted, average="macro"),
        "superclass_macro_f1": f1_score(upper_truth, upper_predicted, average="macro"),
        "cross_superclass_errors": float(crossing[wrong].mean()),
        "cross_superclass_error_count": int(crossing.sum()),
        "errors": int(wrong.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--weights", default="0,1", help="superclass_loss_weight values; 0: flat")
    parser.add_argument("--set", action="append", default=[], help="config override, repeatable")
    parser.add_argument("--name", default="", help="prefix of the run directories and variants")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "hierarchy"))
    args = parser.parse_args()
    label = LABELS[DATASET]
    superclass_of = pd.read_csv(HIERARCHY, dtype=str).set_index("class")["category"]
    train_path, test = split(DATASET, os.path.join(args.workdir, "data"), DATA_DIR)
    for seed in args.seeds.split(","):
        for weight in args.weights.split(","):
            variant = f"{args.name}weight-{weight}"
            output = os.path.join(args.workdir, "runs", f"{variant}-{seed}")
            overrides = [
                f"training.seed={seed}",
                f"data.hierarchy={HIERARCHY}",
                f"training.superclass_loss_weight={weight}",
                *args.set,
            ]
            row, _ = run_tfx(pipeline_command(train_path, label, output, overrides), output)
            if "error" in row:
                print(f"{variant} seed {seed}: {row['error']}", flush=True)
                continue
            predicted = np.concatenate(
                [named_classes(batch) for batch in served_batches(output, test, label)]
            )
            record = {
                "variant": variant,
                "seed": seed,
                "set": args.set,
                "seconds": row["seconds"],
                **level_scores(test[label], predicted, superclass_of),
            }
            print(json.dumps(record), flush=True)
            with open(os.path.join(args.workdir, "results.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
