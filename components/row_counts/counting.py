"""Compares the rows of every step with ExampleGen's: a plain function, no TFX."""


def mismatches(counts: dict) -> list[str]:
    """Steps whose per-split counts differ from ExampleGen's.

    Args:
      counts: {'csv_rows': int or None, 'examples' | 'statistics' | 'transformed':
        {split: rows}}, as the RowCounts component records them.
    """
    reference = counts["examples"]
    problems = []
    if counts.get("csv_rows") is not None and counts["csv_rows"] != sum(reference.values()):
        problems.append(f"CSV rows {counts['csv_rows']} vs examples {sum(reference.values())}")
    for step in ("statistics", "transformed"):
        for split, expected in reference.items():
            seen = counts[step].get(split)
            if seen != expected:
                problems.append(f"{step} {split}: {seen} vs {expected} examples from ExampleGen")
    return problems
