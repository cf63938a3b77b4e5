"""ClassSkew: per-class counts, skew measures and flags from StatisticsGen."""
