"""Tuner module code: a KerasTuner search inside the TFX Tuner component.

Every trial builds its model through training.build_and_compile, so the class
weights and the imbalance loss apply inside each trial (fit-time class weights
are a known KerasTuner pitfall: they are silently dropped during search). The
objective is a balanced metric on the validation part of the train split
(training.validation_rows), never plain accuracy and never the eval split.
Each trial also batches its data and schedules its learning rate with its own
values (TrialModel), so batch_size and learning_rate_schedule are searchable.
"""

from typing import Any

import keras
import keras_tuner
import tensorflow_transform as tft
from tfx import v1 as tfx

from components.modules.training import (
    EpochProgress,
    SelectionSplit,
    TrainingData,
    apply_tuned_values,
    build_and_compile,
    find_integer_categories,
    fit_steps,
    learning_rate_callbacks,
)


class TrialModel(keras_tuner.HyperModel):
    """One trial: the MLP compiled and fit with the training settings and the trial's values."""

    def __init__(
        self,
        data: TrainingData,
        split: SelectionSplit,
        hparams: dict[str, Any],
        tuning: dict[str, Any],
    ):
        super().__init__()
        self.data, self.split, self.hparams, self.tuning = data, split, hparams, tuning
        self.trials = 0  # started so far, for progress
        self.trial_examples = split.sizes()["fit_examples"]
        if tuning["max_train_examples"]:
            self.trial_examples = min(self.trial_examples, tuning["max_train_examples"])

    def settings(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """The training settings with the trial's value of every searched key (listed ones)."""
        values = {
            name: hp.Choice(name, choices)
            for name, choices in self.tuning["search_space"].items()
            if choices
        }
        return apply_tuned_values(self.hparams, values)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        settings = self.settings(hp)  # a cosine schedule decays over the trial's steps
        steps = fit_steps(self.trial_examples, settings, self.tuning["epochs_per_trial"])
        return build_and_compile(self.data, settings, steps)

    def fit(
        self,
        hp: keras_tuner.HyperParameters,
        model: keras.Model,
        callbacks: list[keras.callbacks.Callback],
        **kwargs,
    ) -> keras.callbacks.History:
        """Fits on the trial's batches; the Tuner passes the callbacks, epochs and verbosity."""
        settings = self.settings(hp)
        self.trials += 1
        trial = f"trial {self.trials}"
        if self.tuning["algorithm"] != "hyperband":  # hyperband sets its own trial count
            trial += f"/{self.tuning['max_trials']}"
        return model.fit(
            self.split.fit_batches(settings, self.tuning["max_train_examples"]),
            validation_data=self.split.validation_batches(settings),
            callbacks=[
                *callbacks,
                *learning_rate_callbacks(settings, self.tuning["objective"]),
                EpochProgress(f"{trial}, epoch"),
            ],
            **kwargs,
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

    common = {
        "hypermodel": TrialModel(data, split, hparams, tuning),
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
            "epochs": tuning["epochs_per_trial"],
            "callbacks": [stop_early],
            "verbose": 2,
        },
    )
