"""Class-skew measures from StatisticsGen's label counts: plain functions, no TFX.

The pipeline gives StatisticsGen a schema that marks the label categorical
(statistics_schema), so its statistics hold exact per-class counts for int and
string labels alike (TFDV only gives numeric histograms for an int feature
otherwise). `analyze` turns the counts into measures and flags.
"""

import math
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from components.modules.errors import BadInputError

MISSING_MARKERS = {"na", "n/a", "#n/a", "nan", "null", "none", "?", "-", "missing"}
CHECK_ACTIONS = ("warn", "gate", "off")  # warn: report it | gate: stop before training | off


def statistics_schema(label: str, curated: schema_pb2.Schema | None = None) -> schema_pb2.Schema:
    """The schema StatisticsGen computes with: the curated one, label made categorical.

    Marking an int label categorical gives exact per-class counts. TFDV uses the
    int domain only for int features, so it is harmless for a string label,
    whose counts are exact anyway; a label the schema types as BYTES is kept.
    """
    schema = schema_pb2.Schema()
    if curated is not None:
        schema.CopyFrom(curated)
    feature = next((f for f in schema.feature if f.name == label), None)
    if feature is None:
        feature = schema.feature.add(name=label, type=schema_pb2.INT)
    if feature.type in (schema_pb2.INT, schema_pb2.TYPE_UNKNOWN):
        feature.type = schema_pb2.INT
        feature.int_domain.is_categorical = True
    return schema


def label_counts(
    statistics: statistics_pb2.DatasetFeatureStatistics, label: str
) -> tuple[dict[str, int], int]:
    """Exact (class -> count, examples without a label) from one split's statistics.

    Raises:
      BadInputError: if the label is missing or holds non-integer numbers.
    """
    for feature in statistics.features:
        if list(feature.path.step) == [label] or feature.name == label:
            if feature.WhichOneof("stats") != "string_stats":
                raise BadInputError(
                    f"label {label!r} holds non-integer numbers (or the curated schema types it "
                    "FLOAT), so its values are not classes: write classes as integers (1, not "
                    "1.0) or as text"
                )
            buckets = feature.string_stats.rank_histogram.buckets
            counts = {bucket.label: int(bucket.sample_count) for bucket in buckets}
            return counts, int(feature.string_stats.common_stats.num_missing)
    raise BadInputError(f"label {label!r} is not in the data; check --label")


def _shares(counts: dict[str, int], classes: list[str]) -> list[float]:
    total = sum(counts.get(c, 0) for c in classes)
    return [counts.get(c, 0) / total if total else 0.0 for c in classes]


def _jensen_shannon(p: list[float], q: list[float]) -> float:
    """Jensen-Shannon divergence in bits: 0 for equal distributions, at most 1."""
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(a * math.log2(a / b) for a, b in zip(x, m, strict=True) if a > 0)

    return (kl(p) + kl(q)) / 2


def analyze(
    counts: dict[str, dict[str, int]], missing: dict[str, int], checks: dict[str, dict]
) -> dict[str, Any]:
    """Measures class skew per split and flags the checks that fail.

    Args:
      counts: split -> class -> examples.
      missing: split -> examples without a label.
      checks: class_skew config: name -> {'threshold': float, 'action': warn|gate|off}.

    Returns:
      A JSON-able dict: classes (most frequent first), per-split measures,
      train/eval divergence and the list of flags.
    """
    totals: dict[str, int] = {}
    for split_counts in counts.values():
        for name, count in split_counts.items():
            totals[name] = totals.get(name, 0) + count
    classes = sorted(totals, key=lambda c: (-totals[c], c))
    flags: list[dict[str, Any]] = []

    def flag(check: str, value: float, message: str, split: str, cls: str | None = None):
        action = checks[check]["action"]
        if action != "off":
            flags.append(
                {
                    "check": check,
                    "action": action,
                    "split": split,
                    "class": cls,
                    "value": value,
                    "threshold": checks[check]["threshold"],
                    "message": message,
                }
            )

    for group in similar_labels(classes):
        flag(
            "similar_labels",
            len(group),
            f"labels {', '.join(map(repr, group))} differ only by case or surrounding spaces and "
            "are separate classes; if they mean one class, clean the label column",
            "all",
        )
    for cls in classes:
        if cls.strip().casefold() in MISSING_MARKERS:
            flag(
                "marker_labels",
                0,
                f"class {cls!r} looks like a missing-value marker; if it is one, list it in "
                "data.missing_values (its rows then count as unlabelled)",
                "all",
                cls,
            )
    splits = {}
    for split, split_counts in counts.items():
        present = [split_counts[c] for c in classes if split_counts.get(c, 0) > 0]
        shares = _shares(split_counts, classes)
        entropy = -sum(p * math.log(p) for p in shares if p > 0)
        normalized_entropy = entropy / math.log(len(classes)) if len(classes) > 1 else 1.0
        ratio = max(present) / min(present) if present else math.inf
        splits[split] = {
            "examples": sum(split_counts.values()),
            "missing_label": missing.get(split, 0),
            "counts": {c: split_counts.get(c, 0) for c in classes},
            "shares": dict(zip(classes, shares, strict=True)),
            "imbalance_ratio": ratio,
            "normalized_entropy": normalized_entropy,
        }
        if missing.get(split, 0):
            flag("missing_label", missing[split], f"{missing[split]} rows have no label", split)
        if ratio > checks["max_imbalance_ratio"]["threshold"]:
            flag("max_imbalance_ratio", ratio, f"largest/smallest class = {ratio:.0f}", split)
        if normalized_entropy < checks["min_normalized_entropy"]["threshold"]:
            flag(
                "min_normalized_entropy",
                normalized_entropy,
                f"normalised label entropy {normalized_entropy:.2f}",
                split,
            )
        for cls in classes:
            count = split_counts.get(cls, 0)
            if count == 0:
                elsewhere = ", ".join(
                    f"{other_counts.get(cls, 0)} in {other}"
                    for other, other_counts in counts.items()
                    if other != split
                )
                flag(
                    "missing_class",
                    0,
                    f"class {cls!r} has no examples ({elsewhere}); every class needs examples "
                    "in every split: add rows of it or remove its rows",
                    split,
                    cls,
                )
            elif count < checks["min_class_count"]["threshold"]:
                flag(
                    "min_class_count", count, f"class {cls!r} has only {count} examples", split, cls
                )

    divergence = None
    if "train" in counts and "eval" in counts:
        train, evaluation = _shares(counts["train"], classes), _shares(counts["eval"], classes)
        divergence = {
            "l_infinity": max(abs(a - b) for a, b in zip(train, evaluation, strict=True)),
            "jensen_shannon": _jensen_shannon(train, evaluation),
        }
        if divergence["l_infinity"] > checks["max_label_divergence"]["threshold"]:
            flag(
                "max_label_divergence",
                divergence["l_infinity"],
                f"class shares differ by up to {divergence['l_infinity']:.3f} (L-infinity)",
                "train/eval",
            )
    return {"classes": classes, "splits": splits, "divergence": divergence, "flags": flags}


def similar_labels(classes: list[str]) -> list[list[str]]:
    """Groups of labels equal but for case and surrounding whitespace: typos more often
    than classes."""
    groups: dict[str, list[str]] = {}
    for name in classes:
        groups.setdefault(name.strip().casefold(), []).append(name)
    return [group for group in groups.values() if len(group) > 1]


def label_text(name: str) -> str:
    """A label as a table shows it: quoted where spaces or unprintable characters would hide
    what it is ('a ' vs 'a')."""
    return name if name and name == name.strip() and name.isprintable() else repr(name)


def format_summary(report: dict[str, Any]) -> str:
    """A plain-text table of the class distribution and the flags."""
    splits = list(report["splits"])
    lines = ["class".ljust(16) + "".join(f"{s:>18}" for s in splits)]
    for cls in report["classes"]:
        cells = "".join(
            f"{report['splits'][s]['counts'][cls]:>10} {report['splits'][s]['shares'][cls]:6.2%}"
            for s in splits
        )
        lines.append(label_text(cls)[:15].ljust(16) + cells)
    for split, measures in report["splits"].items():
        lines.append(
            f"{split}: {measures['examples']} examples, imbalance ratio "
            f"{measures['imbalance_ratio']:.1f}, normalised entropy "
            f"{measures['normalized_entropy']:.3f}"
        )
    if report["divergence"]:
        divergence = report["divergence"]
        lines.append(
            f"train vs eval: L-infinity {divergence['l_infinity']:.4f}, "
            f"Jensen-Shannon {divergence['jensen_shannon']:.4f}"
        )
    for item in report["flags"]:
        lines.append(f"{item['action'].upper()}: {item['split']}: {item['message']}")
    return "\n".join(lines) + "\n"


def flag_text(flag: dict[str, Any]) -> str:
    """One finding as a person reads it, naming the config key that controls it."""
    return f"{flag['split']}: {flag['message']} (class_skew.{flag['check']})"
