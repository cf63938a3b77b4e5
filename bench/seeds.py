"""This pipeline's held-out quality over training seeds, with config overrides.

The same fixed split as bench/compare.py; each seed is a fresh run, scored on the
untouched 20 % through the pushed model's serving signature. For telling a
change in quality from run-to-run noise:

    .venv/bin/python bench/seeds.py shuttle --seeds 1,2,3 \\
        --set training.early_stopping_patience=8
"""

import argparse
import json
import os

from common import (
    DATA_DIR,
    LABELS,
    REPO,
    class_names,
    pipeline_command,
    pushed_model,
    score_pushed_model,
    split,
)
from compare import TRAINING_SUMMARY_FILE, run_tfx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(LABELS))
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated training.seed values")
    parser.add_argument("--set", action="append", default=[], help="config override, repeatable")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "seeds"))
    args = parser.parse_args()
    label = LABELS[args.dataset]
    train_path, test = split(args.dataset, os.path.join(args.workdir, "data"), DATA_DIR)
    for seed in args.seeds.split(","):
        output = os.path.join(args.workdir, "runs", f"{args.dataset}-{seed}")
        overrides = [f"training.seed={seed}", *args.set]
        row, _ = run_tfx(pipeline_command(train_path, label, output, overrides), output)
        if "error" in row:
            print(f"{args.dataset} seed {seed}: {row['error']}", flush=True)
            continue
        scored = score_pushed_model(output, test, label, class_names(test[label]))
        with open(os.path.join(pushed_model(output), TRAINING_SUMMARY_FILE)) as f:
            families = json.load(f)["families"]
        print(
            f"{args.dataset} seed {seed}: macro-F1 {scored['macro_f1']:.4f}, "
            f"balanced accuracy {scored['balanced_accuracy']:.4f}, {row['seconds']:.0f} s "
            f"(Trainer {row['components'].get('Trainer', 0):.0f} s), recall {scored['recall']}",
            flush=True,
        )
        record = {"dataset": args.dataset, "seed": seed, "set": args.set, **row, **scored}
        with open(os.path.join(args.workdir, "results.jsonl"), "a") as f:
            f.write(json.dumps({**record, "families": families}) + "\n")


if __name__ == "__main__":
    main()
