"""Row counts compared step by step."""

from components.row_counts.counting import mismatches


def test_row_count_mismatches_name_the_step_and_split():
    counts = {
        "csv_rows": 100,
        "examples": {"train": 80, "eval": 20},
        "statistics": {"train": 80, "eval": 20},
        "transformed": {"train": 79, "eval": 20},
    }
    assert mismatches(counts) == ["transformed train: 79 vs 80 examples from ExampleGen"]
    counts["csv_rows"] = 101
    assert "CSV rows 101 vs examples 100" in mismatches(counts)
