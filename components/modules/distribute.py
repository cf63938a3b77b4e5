"""Training on several devices or machines with tf.distribute, chosen from the environment.

- TF_CONFIG naming several workers (Vertex AI Training with replica_count > 1,
  or any cluster): MultiWorkerMirroredStrategy, one replica per worker,
  gradients all-reduced every step.
- Several GPUs on one machine: MirroredStrategy.
- Otherwise the default strategy: one device, as before.

Every replica reads the same batches of the global batch size and keeps its
share of each (DATA sharding), so training.batch_size stays the global batch.
Keras 3's `fit` fails under MultiWorkerMirroredStrategy
(keras-team/keras#20585), so several workers train through `fit_replicated`: a
plain loop of synchronous steps that computes the same metrics and calls the
same callbacks (early stopping, the plateau schedule, progress) with the same
logs as `fit`. Only the chief exports; the other workers wait for its model.
"""

import json
import os
import time

import keras
import tensorflow as tf

from components.modules.keras_metrics import BalancedAccuracy, MacroF1

CHIEF_EXPORT_TIMEOUT = 3600.0  # seconds a worker waits for the chief's model


def _cluster() -> dict:
    return json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})


def strategy_from_environment() -> tf.distribute.Strategy:
    """The strategy the machines at hand call for; create it before any TensorFlow op runs."""
    if sum(len(_cluster().get(role, [])) for role in ("chief", "master", "worker")) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """The strategy as tf.distribute's public API names it (for training.json), or 'default'."""
    for name in ("MultiWorkerMirroredStrategy", "MirroredStrategy"):
        if isinstance(strategy, getattr(tf.distribute, name)):
            return name
    return "default"


def is_chief() -> bool:
    """The process that exports: the only one, the chief, or worker 0 of a chief-less cluster."""
    if not _cluster():
        return True
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    if "chief" in _cluster() or "master" in _cluster():
        return task["type"] in ("chief", "master") and task.get("index", 0) == 0
    return task["type"] == "worker" and task["index"] == 0


def needs_own_loop(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Each replica keeps its share of every batch: the global batch stays the batch size,
    whether the rows come from memory or from files."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def fit_replicated(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
    batch_size: int,
) -> keras.callbacks.History:
    """model.fit's epochs, logs and callbacks as synchronous steps of `strategy`.

    The model must have been built and compiled in the strategy's scope.
    """
    num_classes = model.output_shape[-1]
    with strategy.scope():
        trackers = {
            prefix: [
                keras.metrics.Mean(name="loss"),
                keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                MacroF1(num_classes),
                BalancedAccuracy(num_classes),
            ]
            for prefix in ("", "val_")
        }

    def update(prefix, labels, logits, per_example):
        loss_tracker, *scores = trackers[prefix]
        loss_tracker.update_state(per_example)
        for score in scores:
            score.update_state(labels, logits)

    @tf.function
    def train_step(batch):
        def replica_step(features, labels):
            with tf.GradientTape() as tape:
                logits = model(features, training=True)
                per_example = model.loss.call(labels, logits)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)
                if model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            update("", labels, logits, per_example)

        strategy.run(replica_step, args=batch)

    @tf.function
    def validation_step(batch):
        def replica_step(features, labels):
            logits = model(features, training=False)
            update("val_", labels, logits, model.loss.call(labels, logits))

        strategy.run(replica_step, args=batch)

    train = strategy.experimental_distribute_dataset(shard_by_data(train))
    validation = strategy.experimental_distribute_dataset(shard_by_data(validation))
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, history], model=model, epochs=epochs, verbose=0
    )
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        for tracker in (*trackers[""], *trackers["val_"]):
            tracker.reset_state()
        callback_list.on_epoch_begin(epoch)
        for batch in train:
            train_step(batch)
        for batch in validation:
            validation_step(batch)
        logs = {
            f"{prefix}{tracker.name}": float(tracker.result())
            for prefix, group in trackers.items()
            for tracker in group
        }
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return history


def wait_for_chief_export(export_dir: str) -> None:
    """Returns once the chief's SavedModel is in `export_dir`: TFX checks that every
    replica's run_fn left a model there."""
    deadline = time.monotonic() + CHIEF_EXPORT_TIMEOUT
    while not tf.io.gfile.exists(os.path.join(export_dir, "saved_model.pb")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the chief wrote no model to {export_dir} in time")
        time.sleep(2.0)
