"""The allowed values of each training choice, defined once.

The module code dispatches on them and pipeline.config validates a config
against them. Free of TensorFlow, so that checking a config stays fast.
"""

MODEL_FAMILIES = ("mlp", "gbt", "ensemble")  # ensemble: both, probabilities averaged
CALIBRATIONS = ("none", "temperature")  # temperature: one T fitted on validation log-loss
DECISION_OBJECTIVES = ("none", "macro_f1", "balanced_accuracy")  # per-class offsets
LOSSES = ("cross_entropy", "focal", "logit_adjusted")
# With data.hierarchy, the superclass term's weights: same (class_weights over the superclass
# counts), none (all 1), class (each example's class weight: Bertinetto et al.'s HXE)
SUPERCLASS_WEIGHTINGS = ("same", "none", "class")
CLASS_WEIGHT_STRATEGIES = ("none", "balanced", "sqrt", "effective_number")
NUMERIC_ENCODINGS = ("zscore", "ple")  # ple: z-score plus piecewise-linear quantile encoding
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
LEARNING_RATE_SCHEDULES = ("constant", "cosine", "plateau")  # plateau: halve when val stalls
TUNER_ALGORITHMS = ("random", "bayesian", "hyperband", "grid")  # grid: in order, max_trials
TUNER_OBJECTIVES = ("val_macro_f1", "val_balanced_accuracy")  # Keras metric names, validation
