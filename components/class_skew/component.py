"""ClassSkew: reads StatisticsGen's label counts per split and flags class skew.

A thin shell over components.class_skew.analysis. The findings go to a
ClassSkewReport artifact; the DataGate decides whether they stop the run.
"""

import json

from tfx import v1 as tfx

from components import artifacts
from components.class_skew.analysis import analyze, format_summary, label_counts


@tfx.dsl.components.component
def ClassSkew(  # noqa: N802 - TFX component names are classes
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    report: tfx.dsl.components.OutputArtifact[artifacts.ClassSkewReport],
    label: tfx.dsl.components.Parameter[str],
    checks_json: tfx.dsl.components.Parameter[str],
) -> None:
    """Writes the class-skew report of every split; never fails (DataGate decides)."""
    counts, missing = {}, {}
    for split, stats in artifacts.load_statistics(statistics).items():
        counts[split], missing[split] = label_counts(stats.datasets[0], label)
    result = analyze(counts, missing, json.loads(checks_json))
    artifacts.write_json(report.uri, artifacts.CLASS_SKEW_FILE, result)
    artifacts.write_text(report.uri, artifacts.CLASS_SKEW_SUMMARY_FILE, format_summary(result))
