"""`pipeline_runner.py report`: one self-contained HTML page about the latest run.

Pictures rather than tables where a person would rather look: the class
distribution per split with the skew flags, the confusion matrix (counts and
row-normalised), per-class precision / recall / F1 with the configured floors,
per-slice metrics, the class weights and hyperparameters, each family's
learning curves with a diagnosis in words, reliability diagrams before and
after calibration, and the gate outcome.
The PNGs are drawn with matplotlib and embedded, so the file can be mailed or
attached to a CI run as it is; the page comes from a Jinja2 template with
autoescaping, so class and column names cannot inject markup.
"""

import base64
import io
import os

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from components.class_skew.analysis import label_text
from components.evaluator.eval_config import class_floor
from components.evaluator.tfma_metrics import superclass_counts
from components.modules.hierarchy import Hierarchy
from pipeline.learning_curves import ADVICE, diagnose
from pipeline.outcome import RunOutcome
from pipeline.render import COLUMNS, TEMPLATES, markdown
from pipeline.verdict import Verdict

SPLIT_COLORS = {"train": "#4C72B0", "eval": "#DD8452"}
FAMILY_NAMES = {"mlp": "MLP", "gbt": "Boosted trees"}
METRIC_COLORS = {"precision": "#4C72B0", "recall": "#55A868", "f1": "#C44E52"}


def _subplots(width: float, height: float, columns: int = 1):
    """A figure without pyplot: no global state and no GUI backend needed."""
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots(1, columns)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def plot_class_distribution(skew: dict) -> str:
    classes, splits = skew["classes"], list(skew["splits"])
    figure, axis = _subplots(max(6, 0.8 * len(classes) + 2), 3.6)
    width = 0.8 / len(splits)
    for i, split in enumerate(splits):
        counts = [skew["splits"][split]["counts"][c] for c in classes]
        x = np.arange(len(classes)) + i * width
        bars = axis.bar(x, counts, width, label=split, color=SPLIT_COLORS.get(split))
        axis.bar_label(bars, labels=[str(c) for c in counts], fontsize=7, rotation=90, padding=2)
    axis.set_yscale("log")
    ticks = [label_text(c) for c in classes]
    axis.set_xticks(np.arange(len(classes)) + width * (len(splits) - 1) / 2, ticks)
    axis.set_xlabel("class")
    axis.set_ylabel("examples (log scale)")
    axis.set_title("Class distribution per split")
    axis.legend()
    return _png(figure)


def plot_confusion_matrices(matrix: np.ndarray, class_names: list[str]) -> str:
    rows = matrix.sum(axis=1, keepdims=True)
    normalized = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    size = max(4.5, 0.55 * len(class_names) + 2)
    figure, axes = _subplots(2 * size, size, columns=2)
    for axis, values, title, fmt in (
        (axes[0], matrix, "Confusion matrix (counts)", "d"),
        (axes[1], normalized, "Row-normalised (recall on the diagonal)", ".2f"),
    ):
        axis.imshow(values if fmt == ".2f" else np.log1p(values), cmap="Blues")
        for (i, j), value in np.ndenumerate(values):
            dark = (normalized[i, j] if fmt == ".2f" else value / max(values.max(), 1)) > 0.5
            axis.text(
                j,
                i,
                format(value, fmt),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
        ticks = [label_text(name) for name in class_names]
        axis.set_xticks(range(len(class_names)), ticks)
        axis.set_yticks(range(len(class_names)), ticks)
        axis.set_xlabel("predicted class")
        axis.set_ylabel("actual class")
        axis.set_title(title)
    return _png(figure)


def superclass_confusion(evaluation) -> tuple[list[str], np.ndarray]:
    """Superclass names and the [actual, predicted] counts one level up."""
    hierarchy = Hierarchy.for_classes(dict(evaluation.superclass_of), evaluation.class_names)
    examples = evaluation.confusion.sum(axis=1)
    matrix, _ = superclass_counts(evaluation.confusion, examples, list(hierarchy.parent_index))
    return list(hierarchy.superclasses), matrix.astype(np.int64)


def plot_score_curves(class_curves: dict, class_metrics: dict) -> str:
    """One-vs-rest ROC and precision-recall curves of every class, AUCs in the legends."""
    figure, (roc, pr) = _subplots(11, 4.8, columns=2)
    colors = matplotlib.colormaps["tab20"]
    for i, (name, curves) in enumerate(class_curves.items()):
        color, metrics, label = colors(i % 20), class_metrics[name], label_text(name)
        if len(curves.get("roc_curve", ())):
            fpr, tpr = np.asarray(curves["roc_curve"]).T
            roc.plot(fpr, tpr, color=color, label=f"{label} ({metrics['roc_auc']:.3f})")
        if len(curves.get("pr_curve", ())):
            recall, precision = np.asarray(curves["pr_curve"]).T
            pr.step(
                recall,
                precision,
                where="post",
                color=color,
                label=f"{label} ({metrics['pr_auc']:.3f})",
            )
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for axis, title, x, y in (
        (roc, "ROC, one class vs rest (ROC-AUC)", "false positive rate", "true positive rate"),
        (pr, "Precision-recall (PR-AUC)", "recall", "precision"),
    ):
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.02)
        axis.set_xlabel(x)
        axis.set_ylabel(y)
        axis.set_title(title)
        axis.legend(fontsize=7, loc="lower right" if axis is roc else "lower left")
    return _png(figure)


def plot_class_metrics(class_metrics: dict, floors: dict[str, float]) -> str:
    classes = list(class_metrics)
    figure, axis = _subplots(max(6, 0.9 * len(classes) + 2), 3.6)
    width = 0.26
    for i, metric in enumerate(("precision", "recall", "f1")):
        values = [np.nan_to_num(class_metrics[c].get(metric, np.nan)) for c in classes]
        axis.bar(
            np.arange(len(classes)) + (i - 1) * width,
            values,
            width,
            label=metric,
            color=METRIC_COLORS[metric],
        )
    for i, cls in enumerate(classes):
        if floors.get(cls):
            axis.hlines(floors[cls], i - 0.45, i + 0.45, colors="black", linestyles="--")
    axis.plot([], [], "k--", label="recall floor")
    axis.set_xticks(range(len(classes)), [label_text(c) for c in classes])
    axis.set_ylim(0, 1.05)
    axis.set_xlabel("class")
    axis.set_title("Per-class metrics on the eval split (argmax)")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return _png(figure)


def plot_slice_metrics(slice_metrics: dict, accuracy_floors: dict[str, float]) -> str:
    """Accuracy and macro-F1 per slice; NaN (a class absent from the slice) stays empty."""
    names = list(slice_metrics)
    figure, axis = _subplots(max(6, 0.7 * len(names) + 2), 3.4)
    for offset, metric in ((-0.2, "accuracy"), (0.2, "macro_f1")):
        values = [slice_metrics[n].get(metric, np.nan) for n in names]
        axis.bar(np.arange(len(names)) + offset, values, 0.4, label=metric)
    for i, name in enumerate(names):
        if name in accuracy_floors:
            axis.hlines(accuracy_floors[name], i - 0.45, i + 0.05, colors="black", linestyles="--")
    axis.plot([], [], "k--", label="accuracy floor")
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axis.set_ylim(0, 1.05)
    axis.set_title("Metrics per slice")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return _png(figure)


def plot_class_weights(training: dict) -> str:
    weights = training["class_weights"]
    figure, axis = _subplots(max(6, 0.7 * len(weights) + 2), 3.2)
    bars = axis.bar(list(weights), list(weights.values()), color="#8172B3")
    axis.bar_label(bars, labels=[f"{w:.3g}" for w in weights.values()], fontsize=8)
    axis.set_yscale("log")
    axis.set_xlabel("class")
    axis.set_title(f"Class weights ({training['hyperparameters']['class_weights']})")
    return _png(figure)


def plot_learning_curves(curves: dict[str, list[float]], family: str) -> str:
    """Train and validation macro-F1 and loss per epoch or round, the best one marked."""
    unit = ADVICE[family][0]
    figure, axes = _subplots(10, 3.2, columns=2)
    steps = np.arange(1, len(curves["val_macro_f1"]) + 1)
    best = int(np.argmax(curves["val_macro_f1"])) + 1
    for axis, metric, title in ((axes[0], "macro_f1", "macro-F1"), (axes[1], "loss", "loss")):
        axis.plot(steps, curves[metric], "--", color=SPLIT_COLORS["train"], label="train")
        axis.plot(steps, curves[f"val_{metric}"], color=SPLIT_COLORS["eval"], label="validation")
        axis.axvline(best, color="gray", linestyle=":", label=f"best {unit}")
        axis.set_xlabel(unit)
        axis.set_title(f"{FAMILY_NAMES[family]}: {title}")
    axes[0].legend(fontsize=8)
    return _png(figure)


def plot_reliability(calibration: dict) -> str:
    """Top-label reliability on the validation rows, before and after the temperature."""
    figure, axes = _subplots(10, 3.4, columns=2)
    titles = ("as trained", f"temperature {calibration['temperature']:g}")
    for axis, bins, title in zip(axes, calibration["reliability"], titles, strict=True):
        axis.plot([0, 1], [0, 1], ":", color="gray", label="calibrated")
        axis.plot(bins["confidence"], bins["accuracy"], "o-", color=SPLIT_COLORS["eval"])
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.02)
        axis.set_xlabel("confidence (top score)")
        axis.set_ylabel("accuracy")
        axis.set_title(f"Reliability on validation, {title}")
    return _png(figure)


def trials_table(tuning: dict) -> tuple[list[str], list[list]]:
    """The Tuner's trials, best first: id, validation score and the value of every chosen key.

    A trial lacks only Hyperband's bookkeeping keys that another has (tuner/trial_id).
    """
    names = list(tuning["chosen"])
    rows = [
        [
            trial["trial_id"],
            f"{trial['score']:.4f}",
            *(trial["values"].get(name, "") for name in names),
        ]
        for trial in tuning["trials"]
    ]
    return ["trial", "validation score", *names], rows


def build_report(outcome: RunOutcome, verdict: Verdict) -> str:
    """Returns the HTML page for a run's outcome; every text is escaped by the template."""
    evaluation, skew, training = outcome.evaluation, outcome.class_skew, outcome.training
    plots = {}
    if skew is not None:
        plots["class_distribution"] = plot_class_distribution(skew)
    if evaluation is not None:
        options = evaluation.options
        floors = {
            name: class_floor(options, "class_recall", name) for name in evaluation.class_names
        }
        plots["class_metrics"] = plot_class_metrics(evaluation.class_metrics, floors)
        plots["confusion"] = plot_confusion_matrices(evaluation.confusion, evaluation.class_names)
        if evaluation.superclass_of:
            superclasses, matrix = superclass_confusion(evaluation)
            plots["superclass_confusion"] = plot_confusion_matrices(matrix, superclasses)
        if any(evaluation.class_curves.values()):  # evaluations before the AUCs lack them
            plots["score_curves"] = plot_score_curves(
                evaluation.class_curves, evaluation.class_metrics
            )
        if evaluation.slice_metrics:
            floors = options["slice_min_accuracy"]
            plots["slices"] = plot_slice_metrics(evaluation.slice_metrics, floors)
    fits = []  # (family name, learning-curve plot, diagnosis)
    if training is not None:
        plots["class_weights"] = plot_class_weights(training)
        for family, report in training["families"].items():
            if "curves" in report:  # models trained before the curves were recorded lack them
                curves = report["curves"]
                plot = plot_learning_curves(curves, family)
                fits.append((FAMILY_NAMES[family], plot, diagnose(curves, family)))
        if "calibration" in training:
            plots["reliability"] = plot_reliability(training["calibration"])
    return TEMPLATES.get_template("report.html.j2").render(
        verdict=verdict,
        columns=COLUMNS,
        failure_rows=[failure.cells() for failure in verdict.failures],
        class_skew=skew,
        skew_flags=[
            (f["action"], f["split"], f["message"], f"class_skew.{f['check']}")
            for f in (skew["flags"] if skew else ())
        ],
        evaluation=evaluation,
        metric_rows=[
            (name, f"{value:.4f}")
            for name, value in (evaluation.metrics.items() if evaluation else ())
        ],
        training=training,
        superclass_rows=[
            (name, f"{recall:.4f}", class_floor(evaluation.options, "superclass_recall", name))
            for name, recall in (evaluation.superclass_recall.items() if evaluation else ())
        ],
        hyperparameter_rows=[
            (name, list(value) if isinstance(value, tuple) else value)
            for name, value in sorted(training["hyperparameters"].items() if training else ())
        ],
        tuning=outcome.tuning,
        trials=trials_table(outcome.tuning) if outcome.tuning else None,
        plots=plots,
        fits=fits,
        markdown=markdown(outcome, verdict),
    )


def write_report(outcome: RunOutcome, verdict: Verdict, directory: str) -> str:
    """Writes report.html into `directory`; returns its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(build_report(outcome, verdict))
    return path
