"""ClassAwareEvaluator: TFMA with argmax per-class metrics over the model's own classes."""
