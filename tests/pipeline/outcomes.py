"""Run outcomes built by hand, as read_outcome would return them, for the verdict and renderers."""

import dataclasses

import numpy as np

from pipeline.outcome import Evaluation, Failure, RunOutcome, read_only

CLASSES = ("1", "<script>alert(1)</script>", "a|b")
SKEW_WARNING = {
    "check": "min_class_count",
    "action": "warn",
    "split": "eval",
    "class": "a|b",
    "value": 2,
    "threshold": 10,
    "message": "class 'a|b' has only 2 examples",
}
GATED_SKEW = {**SKEW_WARNING, "check": "max_imbalance_ratio", "action": "gate", "class": None}
ROW_COUNTS = {
    "csv_rows": 10,
    "examples": {"train": 8, "eval": 2},
    "statistics": {"eval": 2, "train": 8},
    "transformed": {"eval": 2, "train": 8},
}
OPTIONS = {
    "min_class_recall": 0.5,
    "class_recall": {"a|b": 0.9},
    "slice_min_accuracy": {"island=Biscoe": 0.3},
    "min_slice_size": 1,
}


# Learning curves per epoch or round: train and validation macro-F1 and loss.
OVERFITTING = {
    "macro_f1": [0.5, 0.7, 0.85, 0.95, 0.99, 0.99],
    "val_macro_f1": [0.45, 0.6, 0.7, 0.72, 0.7, 0.69],
    "loss": [1.0, 0.6, 0.4, 0.2, 0.1, 0.05],
    "val_loss": [1.1, 0.8, 0.7, 0.68, 0.75, 0.8],
}
STILL_IMPROVING = {
    "macro_f1": [0.5, 0.6, 0.7, 0.75],
    "val_macro_f1": [0.5, 0.58, 0.66, 0.7],
    "loss": [1.0, 0.8, 0.7, 0.6],
    "val_loss": [1.0, 0.85, 0.75, 0.65],
}

# The Tuner's results as read_tuning returns them: completed trials best first, and the choice.
TUNING = {
    "chosen": {"batch_size": 64, "loss": "focal", "learning_rate_schedule": "cosine"},
    "trials": [
        {
            "trial_id": "1",
            "score": 0.71234,
            "values": {"batch_size": 64, "loss": "focal", "learning_rate_schedule": "cosine"},
        },
        {
            "trial_id": "0",
            "score": 0.6,
            "values": {
                "batch_size": 256,
                "loss": "logit_adjusted",
                "learning_rate_schedule": "plateau",
            },
        },
    ],
}


def evaluation(failures: tuple[Failure, ...] = ()) -> Evaluation:
    confusion = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 0]])
    return Evaluation(
        example_count=2,
        metrics=read_only({"accuracy": 0.5, "macro_f1": 0.3333}),
        class_names=CLASSES,
        class_metrics=read_only(
            {
                "1": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "roc_auc": 1.0, "pr_auc": 1.0},
                CLASSES[1]: {"precision": float("nan"), "recall": float("nan"), "f1": 0.0},
                "a|b": {
                    "precision": float("nan"),
                    "recall": 0.0,
                    "f1": 0.0,
                    "roc_auc": 0.5,
                    "pr_auc": 0.5,
                },
            }
        ),
        class_curves=read_only(
            {  # the class without examples has no curves
                "1": {
                    "roc_curve": np.array([[0, 0], [0, 1], [1, 1.0]]),
                    "pr_curve": np.array([[1, 1.0]]),
                },
                CLASSES[1]: {"roc_curve": np.zeros((0, 2)), "pr_curve": np.zeros((0, 2))},
                "a|b": {
                    "roc_curve": np.array([[0, 0], [1, 1.0]]),
                    "pr_curve": np.array([[0, 1], [1, 0.5]]),
                },
            }
        ),
        slice_metrics=read_only({"island=Biscoe": {"accuracy": 0.5, "macro_f1": 0.4}}),
        failures=failures,
        confusion=confusion,
        options=read_only(OPTIONS),
    )


def outcome(**changes) -> RunOutcome:
    """A blessed, pushed run with one class-skew warning; `changes` replace fields."""
    passed = {"passed": True, "anomalies": [], "drift": [], "gated_class_skew": [], "message": ""}
    base = RunOutcome(
        failed_components=(),
        class_skew=read_only(
            {
                "classes": list(CLASSES),
                "splits": {
                    "train": {"counts": {"1": 6, CLASSES[1]: 1, "a|b": 1}},
                    "eval": {"counts": {"1": 1, CLASSES[1]: 0, "a|b": 1}},
                },
                "flags": [SKEW_WARNING],
            }
        ),
        data_checks=read_only(passed),
        row_counts=read_only(ROW_COUNTS),
        evaluation=evaluation(),
        blessed=True,
        pushed_to="/out/serving/1",
        training=read_only(
            {
                "class_weights": {"1": 0.5, CLASSES[1]: 3.0, "a|b": 3.0},
                "hyperparameters": {"class_weights": "effective_number", "hidden_units": [64, 32]},
                "model": "ensemble",
                "validation_examples": 9,
                "val_macro_f1": 0.625,
                "tree_weight": 0.75,
                "integer_categories": {"zone": 3, "weather": 12},
                "calibration": {
                    "temperature": 0.5,
                    "val_log_loss": [0.9, 0.7],
                    "val_classwise_ece": [0.2, 0.05],
                    "kept": True,
                    "log_loss_gains_on_the_other_half": [0.15, 0.25],
                    "reliability": [
                        {"confidence": [0.45, 0.55], "accuracy": [0.6, 0.9], "rows": [4, 5]},
                        {"confidence": [0.6, 0.9], "accuracy": [0.6, 0.9], "rows": [4, 5]},
                    ],
                },
                "decision_offsets": {
                    "objective": "macro_f1",
                    "accepted": True,
                    "gains_on_the_other_half": [0.01, 0.02],
                    "offsets": [0.0, 0.5, -0.25],
                },
                "families": {
                    "mlp": {
                        "epochs_trained": 12,
                        "best_epoch": 4,
                        "best_val_macro_f1": 0.5,
                        "seconds": 3.5,
                        "curves": OVERFITTING,
                    },
                    "gbt": {
                        "rounds_fitted": 200,
                        "best_round": 37,
                        "best_val_macro_f1": 0.6,
                        "seconds": 1.5,
                        "curves": STILL_IMPROVING,
                        "refit": {"rounds": 44, "rows": 1000, "seconds": 1.8},
                    },
                },
                "tuned": False,
            }
        ),
        tuning=None,
    )
    return dataclasses.replace(base, **changes)


def failed_data_checks() -> RunOutcome:
    """A run the DataGate stopped: a schema anomaly, a changed column, a gated skew flag."""
    checks = {
        "passed": False,
        "anomalies": [["eval", "sensor_id", "Column dropped"]],
        "drift": [["weight", "New column"]],
        "gated_class_skew": [GATED_SKEW],
        "message": "the data does not match the schema: ...",
    }
    return outcome(data_checks=read_only(checks), row_counts=None, evaluation=None, training=None)
