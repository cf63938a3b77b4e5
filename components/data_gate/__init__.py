"""DataChecks records schema, drift and gated class-skew findings; DataGate stops on them."""
