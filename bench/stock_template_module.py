"""Module file of the stock TFX template baseline: Transform and Trainer code.

Written as the official penguin template and example write it
(tfx/experimental/templates/penguin/models, tfx/examples/penguin/penguin_utils_*.py):
every feature z-scored, the label passed through unchanged, a Keras MLP of two
hidden layers of 8 units, unweighted sparse categorical cross-entropy, a fixed
number of training steps. The template hard-codes the penguin feature names and
3 output units; here they come from custom_config, which is what a user
adapting the template to another CSV edits. Nothing else is changed, on purpose.
"""

import tensorflow as tf
import tensorflow_transform as tft
from tensorflow import keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

# The template's constants.py.
HIDDEN_LAYER_UNITS = 8
NUM_LAYERS = 2
LEARNING_RATE = 1e-2
TRAIN_BATCH_SIZE = 20
EVAL_BATCH_SIZE = 10


def transformed_name(key: str) -> str:
    return key + "_xf"


def preprocessing_fn(inputs, custom_config):
    """z-scores every feature and passes the label, as the template's preprocessing_fn."""
    outputs = {
        transformed_name(key): tft.scale_to_z_score(inputs[key])
        for key in custom_config["feature_keys"]
    }
    label = custom_config["label"]
    outputs[transformed_name(label)] = inputs[label]
    return outputs


def _input_fn(file_pattern, data_accessor, tf_transform_output, label, batch_size):
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=transformed_name(label)),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def _make_keras_model(feature_keys: list[str], num_classes: int) -> keras.Model:
    inputs = [keras.layers.Input(shape=(1,), name=transformed_name(f)) for f in feature_keys]
    d = keras.layers.concatenate(inputs)
    for _ in range(NUM_LAYERS):
        d = keras.layers.Dense(HIDDEN_LAYER_UNITS, activation="relu")(d)
    outputs = keras.layers.Dense(num_classes)(d)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    return model


def _serving_signatures(model, tf_transform_output, label: str) -> dict:
    """serving_default (logits as `outputs`) and transform_features, as the template's."""
    model.tft_layer = tf_transform_output.transform_features_layer()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized_tf_example):
        raw_feature_spec = tf_transform_output.raw_feature_spec()
        raw_feature_spec.pop(label)
        raw_features = tf.io.parse_example(serialized_tf_example, raw_feature_spec)
        transformed_features = model.tft_layer(raw_features)
        return {"outputs": model(transformed_features)}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform_features_fn(serialized_tf_example):
        raw_feature_spec = tf_transform_output.raw_feature_spec()
        raw_features = tf.io.parse_example(serialized_tf_example, raw_feature_spec)
        return model.tft_layer(raw_features)

    return {"serving_default": serve_tf_examples_fn, "transform_features": transform_features_fn}


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """The template's run_fn: fixed train and eval steps, one `fit` call."""
    config = fn_args.custom_config
    label = config["label"]
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train_dataset = _input_fn(
        fn_args.train_files, fn_args.data_accessor, tf_transform_output, label, TRAIN_BATCH_SIZE
    )
    eval_dataset = _input_fn(
        fn_args.eval_files, fn_args.data_accessor, tf_transform_output, label, EVAL_BATCH_SIZE
    )
    mirrored_strategy = tf.distribute.MirroredStrategy()
    with mirrored_strategy.scope():
        model = _make_keras_model(config["feature_keys"], config["num_classes"])
    tensorboard_callback = keras.callbacks.TensorBoard(
        log_dir=fn_args.model_run_dir, update_freq="epoch"
    )
    model.fit(
        train_dataset,
        steps_per_epoch=fn_args.train_steps,
        validation_data=eval_dataset,
        validation_steps=fn_args.eval_steps,
        callbacks=[tensorboard_callback],
    )
    signatures = _serving_signatures(model, tf_transform_output, label)
    tf.saved_model.save(model, fn_args.serving_model_dir, signatures=signatures)
