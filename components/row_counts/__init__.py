"""RowCounts: rows per split after every step, so that no step loses rows silently."""
