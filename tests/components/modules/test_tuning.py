"""tuner_fn on real Transform output: the configured search, and the imbalance loss in every trial.

The Tuner runs what tuner_fn returns, so the result must carry the configured
algorithm, objective, budget and search space; and since KerasTuner drops
fit-time class weights, each trial's model must carry them in its loss.
"""

import math

import keras
import keras_tuner
import numpy as np
import pytest

from components.modules.losses import ImbalanceLoss
from components.modules.training import TrainingData, apply_tuned_values
from components.modules.tuning import tuner_fn
from tests.components.modules import transformed_data as td


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> td.TransformedData:
    return td.shared(tmp_path_factory)


def _tune(data, working_dir, **tuning):
    config = td.custom_config(tuning=tuning)
    return tuner_fn(td.fn_args(data, str(working_dir), config)), config


def _rows(batches) -> int:
    return sum(int(labels.shape[0]) for _, labels in batches)


class _RecordedFit:
    """Stands in for a trial's model: keeps what the trial's fit passes to model.fit."""

    def fit(self, x, **kwargs):
        self.x, self.kwargs = x, kwargs


def _trial_values(result, **values) -> keras_tuner.HyperParameters:
    """The tuner's search space with these values picked, as a trial holds them."""
    hp = result.tuner.oracle.get_space()
    hp.values.update(values)
    return hp


def _fit_trial(result, **values) -> _RecordedFit:
    """Runs the hypermodel's fit for one trial, as the Tuner calls it, on a recording model."""
    model = _RecordedFit()
    result.tuner.hypermodel.fit(_trial_values(result, **values), model, **result.fit_kwargs)
    return model


@pytest.mark.parametrize(
    "algorithm, tuner_class",
    [
        ("random", keras_tuner.RandomSearch),
        ("bayesian", keras_tuner.BayesianOptimization),
        ("hyperband", keras_tuner.Hyperband),
        ("grid", keras_tuner.GridSearch),
    ],
)
def test_the_tuner_is_the_configured_algorithm(data, tmp_path, algorithm, tuner_class):
    result, _ = _tune(data, tmp_path, algorithm=algorithm)
    assert type(result.tuner) is tuner_class


@pytest.mark.parametrize("objective", ["val_macro_f1", "val_balanced_accuracy"])
def test_the_objective_is_maximised_and_stops_trials_early(data, tmp_path, objective):
    result, _ = _tune(data, tmp_path, objective=objective)
    assert result.tuner.oracle.objective.name == objective
    assert result.tuner.oracle.objective.direction == "max"
    [stop_early] = result.fit_kwargs["callbacks"]
    assert (stop_early.monitor, stop_early.mode) == (objective, "max")


def _validation_size(data) -> int:
    counts = data.train[td.LABEL].value_counts()
    return sum(min(n - 1, max(1, round(n * 0.15))) for n in counts)


def test_trials_fit_and_select_on_the_train_split_for_the_trial_epochs(data, tmp_path):
    """Trials are scored on the validation part of train; the eval split is the gate's."""
    result, config = _tune(data, tmp_path, epochs_per_trial=3, max_train_examples=0)
    fitted = _fit_trial(result)
    assert fitted.kwargs["epochs"] == 3 == config["tuning"]["epochs_per_trial"]
    held_out = _validation_size(data)
    assert _rows(fitted.x) == len(data.train) - held_out
    assert _rows(fitted.kwargs["validation_data"]) == held_out


def test_max_train_examples_subsamples_fitting_but_not_validation(data, tmp_path):
    result, _ = _tune(data, tmp_path, max_train_examples=40)
    fitted = _fit_trial(result)
    assert _rows(fitted.x) == 40
    assert _rows(fitted.kwargs["validation_data"]) == _validation_size(data)


def test_each_trial_batches_and_decays_its_rate_with_its_own_batch_size(data, tmp_path):
    """The cosine schedule decays to zero over the trial's steps, which its batch size sets."""
    search_space = {"batch_size": [16, 64], "learning_rate_schedule": ["cosine"]}
    result, config = _tune(data, tmp_path, epochs_per_trial=3, search_space=search_space)
    held_out = _validation_size(data)
    fit_rows = len(data.train) - held_out
    for size in search_space["batch_size"]:
        fitted = _fit_trial(result, batch_size=size)
        assert max(int(labels.shape[0]) for _, labels in fitted.x) == size
        assert _rows(fitted.x) == fit_rows  # every fit row, in batches of the trial's size
        validation = fitted.kwargs["validation_data"]
        assert max(int(labels.shape[0]) for _, labels in validation) == min(size, held_out)
        model = result.tuner.hypermodel.build(_trial_values(result, batch_size=size))
        steps = math.ceil(fit_rows / size) * config["tuning"]["epochs_per_trial"]
        rates = []
        for step in (steps - 1, steps):
            model.optimizer.iterations.assign(step)
            rates.append(float(model.optimizer.learning_rate))
        assert rates[0] > 0 and rates[1] == pytest.approx(0.0, abs=1e-9)  # decays over `steps`


@pytest.mark.parametrize("schedule", ["constant", "cosine", "plateau"])
def test_only_a_plateau_trial_halves_its_rate_on_a_stalled_objective(data, tmp_path, schedule):
    search_space = {"learning_rate_schedule": ["constant", "cosine", "plateau"]}
    result, _ = _tune(data, tmp_path, objective="val_balanced_accuracy", search_space=search_space)
    callbacks = _fit_trial(result, learning_rate_schedule=schedule).kwargs["callbacks"]
    plateaus = [c for c in callbacks if isinstance(c, keras.callbacks.ReduceLROnPlateau)]
    if schedule == "plateau":
        [plateau] = plateaus
        assert (plateau.monitor, plateau.mode) == ("val_balanced_accuracy", "max")
    else:
        assert plateaus == []
    assert isinstance(callbacks[0], keras.callbacks.EarlyStopping)  # the Tuner's, kept


def test_the_search_space_is_the_configured_one(data, tmp_path):
    search_space = {"depth": [1, 2], "width": [8, 16], "loss": ["focal", "logit_adjusted"]}
    result, _ = _tune(data, tmp_path, search_space=search_space)
    space = result.tuner.oracle.get_space()
    assert {hp.name: list(hp.values) for hp in space.space} == search_space


def test_keys_the_search_space_leaves_empty_keep_the_training_values(data, tmp_path):
    config = td.custom_config(
        training={"optimizer": "sgd", "batch_size": 64, "learning_rate_schedule": "cosine"},
        tuning={"search_space": {"depth": [1], "width": [8], "optimizer": [], "batch_size": []}},
    )
    result = tuner_fn(td.fn_args(data, str(tmp_path), config))
    assert {hp.name for hp in result.tuner.oracle.get_space().space} == {"depth", "width"}
    settings = result.tuner.hypermodel.settings(_trial_values(result))
    assert (settings["optimizer"], settings["batch_size"]) == ("sgd", 64)
    assert settings["learning_rate_schedule"] == "cosine"


def test_every_trial_trains_with_the_imbalance_loss_and_class_weights(data, tmp_path, monkeypatch):
    """A real two-trial search; a spy on the hypermodel records the model of every trial."""
    losses = ["focal", "logit_adjusted"]
    result, config = _tune(
        data, tmp_path, max_trials=2, epochs_per_trial=2, search_space={"loss": losses}
    )
    hypermodel, built = result.tuner.hypermodel, []
    build = hypermodel.build

    def recording_build(hp):
        model = build(hp)
        built.append((dict(hp.values), model))
        return model

    monkeypatch.setattr(hypermodel, "build", recording_build)
    result.tuner.search(**result.fit_kwargs)

    trials = list(result.tuner.oracle.trials.values())
    assert [t.status for t in trials] == ["COMPLETED", "COMPLETED"]
    assert all(t.score is not None for t in trials)  # the objective is a metric the model logs
    assert sorted(values["loss"] for values, _ in built) == losses
    training = TrainingData.load(data.transform_output)
    for values, model in built:
        weights = training.weights(apply_tuned_values(config["training"], values))
        assert isinstance(model.loss, ImbalanceLoss) and model.loss.kind == values["loss"]
        np.testing.assert_allclose(model.loss.class_weights, weights)
        assert len(set(model.loss.class_weights)) == 3  # imbalanced counts, distinct weights


def test_the_optimizer_its_parameters_and_l1_are_searchable(data, tmp_path):
    search_space = {
        "optimizer": ["sgd", "rmsprop"],
        "momentum": [0.0, 0.5],
        "weight_decay": [0.0, 0.01],
        "l1": [0.0, 1e-4],
    }
    result, _ = _tune(data, tmp_path, search_space=search_space)
    trial = keras_tuner.HyperParameters()
    for name, choices in search_space.items():
        trial.Choice(name, choices)
    trial.values.update({"optimizer": "rmsprop", "momentum": 0.5, "weight_decay": 0.01, "l1": 1e-4})
    model = result.tuner.hypermodel.build(trial)
    assert type(model.optimizer) is keras.optimizers.RMSprop
    assert model.optimizer.momentum == 0.5 and model.optimizer.weight_decay == 0.01
    penalties = [layer.kernel_regularizer for layer in model.layers if hasattr(layer, "units")]
    assert any(penalty is not None and penalty.l1 == pytest.approx(1e-4) for penalty in penalties)


def test_a_search_is_reproducible_from_its_seed(data, tmp_path):
    """Two random searches with one seed try the same values, in order, to the same scores.

    Exactly the same on this CPU: the seed sets the oracle's draws, the initial
    weights, the dropout masks and the shuffling of every trial.
    """
    search_space = {
        "batch_size": [16, 64],
        "learning_rate_schedule": ["constant", "cosine", "plateau"],
        "dropout": [0.0, 0.3],
        "loss": ["cross_entropy", "focal"],
    }
    searches = []
    for name in ("first", "second"):
        result, _ = _tune(
            data, tmp_path / name, max_trials=3, epochs_per_trial=2, search_space=search_space
        )
        result.tuner.search(**result.fit_kwargs)
        trials = sorted(result.tuner.oracle.trials.values(), key=lambda trial: trial.trial_id)
        searches.append(
            (
                [trial.hyperparameters.values for trial in trials],
                [trial.score for trial in trials],
                result.tuner.get_best_hyperparameters()[0].values,
            )
        )
    (values, scores, best), (values_again, scores_again, best_again) = searches
    assert len({str(trial) for trial in values}) == 3  # three different trials
    assert {trial["batch_size"] for trial in values} == {16, 64}
    assert values == values_again
    assert scores == scores_again
    assert best == best_again
