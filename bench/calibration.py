"""Temperature scaling on held-out data: test log-loss and classwise ECE, before and after.

One run per data set and seed with training.calibration=temperature, scored on
the untouched 20 % of the fixed split through serving_default. The served
scores are softmax(z / T); T from training.json turns them back into the
uncalibrated softmax(z), so one run gives both sides:

    .venv/bin/python bench/calibration.py --datasets shuttle,satimage --seeds 1,2
"""

import argparse
import json
import os

import numpy as np
from common import DATA_DIR, LABELS, REPO, pipeline_command, pushed_model, served_batches, split
from compare import TRAINING_SUMMARY_FILE, run_tfx
from scipy.special import softmax

from components.modules.calibration import classwise_ece
from components.modules.ensemble import log_loss


def served_scores(output: str, test, label: str) -> tuple[np.ndarray, np.ndarray]:
    """(scores [rows, classes], true class indices) of the pushed model on the test rows."""
    scores, names = [], None
    for batch in served_batches(output, test, label):
        scores.append(batch["scores"].numpy())
        names = batch["classes"].numpy()[0].astype(str)
    index = {name: i for i, name in enumerate(names)}
    return np.concatenate(scores), test[label].astype(str).map(index).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="shuttle,satimage,fars,penguins,kddcup")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--workdir", default=os.path.join(REPO, "output", "bench", "calibration"))
    args = parser.parse_args()
    for dataset in args.datasets.split(","):
        label = LABELS[dataset]
        train_path, test = split(dataset, os.path.join(args.workdir, "data"), DATA_DIR)
        for seed in args.seeds.split(","):
            output = os.path.join(args.workdir, "runs", f"{dataset}-{seed}")
            overrides = [f"training.seed={seed}", "training.calibration=temperature"]
            row, _ = run_tfx(pipeline_command(train_path, label, output, overrides), output)
            if "error" in row:
                print(f"{dataset} seed {seed}: {row['error']}", flush=True)
                continue
            calibrated, truth = served_scores(output, test, label)
            with open(os.path.join(pushed_model(output), TRAINING_SUMMARY_FILE)) as f:
                fitted = json.load(f)["calibration"]
            temperature = fitted["temperature"]
            raw = softmax(temperature * np.log(np.maximum(calibrated, 1e-30)), axis=1)
            record = {
                "dataset": dataset,
                "seed": seed,
                "temperature": temperature,
                "kept": fitted.get("kept"),
                "validation_gains": fitted.get("log_loss_gains_on_the_other_half"),
                "test_log_loss": [log_loss(truth, raw), log_loss(truth, calibrated)],
                "test_classwise_ece": [classwise_ece(truth, raw), classwise_ece(truth, calibrated)],
                "argmax_unchanged": bool((raw.argmax(1) == calibrated.argmax(1)).all()),
            }
            print(json.dumps(record), flush=True)
            with open(os.path.join(args.workdir, "results.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
