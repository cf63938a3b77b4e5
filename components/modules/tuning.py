"""Tuner module code: a KerasTuner search inside the TFX Tuner component.

Every trial builds its model through training.build_and_compile, so the class
weights and the imbalance loss apply inside each trial (fit-time class weights
are a known KerasTuner pitfall: they are silently dropped during search). The
objective is a balanced metric on the validation part of the train split
(training.validation_rows), never plain accuracy and never the eval split.
"""

import keras
import keras_tuner
import tensorflow_transform as tft
from tfx import v1 as tfx

from components.modules.training import (
    SelectionSplit,
    TrainingData,
    apply_tuned_values,
    build_and_compile,
    find_integer_categories,
    fit_steps,
    learning_rate_callbacks,
)


def tuner_fn(fn_args: tfx.components.FnArgs) -> tfx.components.TunerFnResult:
    """TFX Tuner entry point; the search space and budget come from `custom_config`."""
    hparams = dict(fn_args.custom_config["training"])
    tuning = fn_args.custom_config["tuning"]
    keras.utils.set_random_seed(hparams["seed"])  # the oracle's seed alone leaves weights random
    transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    split = SelectionSplit.load(fn_args, transform_output, hparams)
    data = TrainingData.load(transform_output)
    data.integer_categories = find_integer_categories(
        transform_output.raw_feature_spec(), fn_args.custom_config, split.columns
    )

    trial_examples = split.sizes()["fit_examples"]
    if tuning["max_train_examples"]:
        trial_examples = min(trial_examples, tuning["max_train_examples"])
    steps = fit_steps(trial_examples, hparams, tuning["epochs_per_trial"])

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        values = {
            name: hp.Choice(name, choices) for name, choices in tuning["search_space"].items()
        }
        return build_and_compile(data, apply_tuned_values(hparams, values), steps)

    common = {
        "hypermodel": build,
        "objective": keras_tuner.Objective(tuning["objective"], direction="max"),
        "directory": fn_args.working_dir,
        "project_name": "search",
        "seed": hparams["seed"],
    }
    if tuning["algorithm"] == "hyperband":
        tuner = keras_tuner.Hyperband(max_epochs=tuning["epochs_per_trial"], **common)
    elif tuning["algorithm"] == "grid":  # every combination in order, up to max_trials
        tuner = keras_tuner.GridSearch(max_trials=tuning["max_trials"], **common)
    elif tuning["algorithm"] == "bayesian":
        tuner = keras_tuner.BayesianOptimization(max_trials=tuning["max_trials"], **common)
    else:
        tuner = keras_tuner.RandomSearch(max_trials=tuning["max_trials"], **common)

    stop_early = keras.callbacks.EarlyStopping(
        monitor=tuning["objective"], mode="max", patience=hparams["early_stopping_patience"]
    )
    return tfx.components.TunerFnResult(
        tuner=tuner,
        fit_kwargs={
            "x": split.fit_batches(hparams, tuning["max_train_examples"]),
            "validation_data": split.validation_batches(hparams),
            "epochs": tuning["epochs_per_trial"],
            "callbacks": [stop_early, *learning_rate_callbacks(hparams, tuning["objective"])],
            "verbose": 2,
        },
    )
