"""RowCounts: rows per split after ExampleGen, StatisticsGen and Transform.

A parse problem can drop rows, and the DirectRunner has a history of
processing only part of the data in some modes. Each count here is taken from
the files a step wrote, independently of the step that wrote them; any
mismatch stops the run before training (RowCountError, exit code 5). The
Evaluator makes the same check on the examples it evaluated, before the push.
"""

import json

from tfx import v1 as tfx

from components import artifacts
from components.modules.errors import RowCountError
from components.row_counts.counting import mismatches


@tfx.dsl.components.component
def RowCounts(  # noqa: N802 - TFX component names are classes
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    transformed_examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    report: tfx.dsl.components.OutputArtifact[artifacts.RowCountReport],
) -> None:
    """Counts rows per split after ExampleGen, StatisticsGen and Transform; fails on a mismatch."""
    counts = {
        "csv_rows": (
            examples.get_int_custom_property(artifacts.CSV_ROWS_PROPERTY)
            if examples.has_custom_property(artifacts.CSV_ROWS_PROPERTY)
            else None  # BigQueryExampleGen
        ),
        "examples": artifacts.examples_per_split(examples),
        "statistics": {
            split: sum(dataset.num_examples for dataset in stats.datasets)
            for split, stats in artifacts.load_statistics(statistics).items()
        },
        "transformed": artifacts.examples_per_split(transformed_examples),
    }
    artifacts.write_json(report.uri, artifacts.ROW_COUNTS_FILE, counts)
    problems = mismatches(counts)
    if problems:
        raise RowCountError(
            "rows were lost or added between steps, so nothing was trained:\n  - "
            + "\n  - ".join(problems)
            + f"\n  Counts: {json.dumps(counts)}"
        )
