"""One-file baselines: what a user writes with pandas and scikit-learn or Keras instead.

Reads the train CSV, trains, predicts the test CSV and writes the predicted
classes. bench/compare.py runs each model as its own process, to time it and
its memory like the pipelines, and scores the predictions. Standalone on
purpose: the scikit-learn baseline does not even import TensorFlow.

    .venv/bin/python bench/plain_script.py {hgb,keras} --train CSV --test CSV \
        --label NAME --predictions CSV [--seed N]

Text columns become pandas categories for the trees and one-hot columns for the MLP.
"""

import argparse

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier


def hgb(x_train: pd.DataFrame, y_train: pd.Series, x_test: pd.DataFrame, seed: int) -> np.ndarray:
    """Gradient-boosted trees with balanced class weights; text columns as categories."""
    text = x_train.select_dtypes(exclude="number").columns
    categories = {c: pd.CategoricalDtype(x_train[c].dropna().unique()) for c in text}
    model = HistGradientBoostingClassifier(
        class_weight="balanced", categorical_features="from_dtype", random_state=seed
    )
    model.fit(x_train.astype(categories), y_train)
    return model.predict(x_test.astype(categories))


def keras_mlp(
    x_train: pd.DataFrame, y_train: pd.Series, x_test: pd.DataFrame, seed: int
) -> np.ndarray:
    """A plain MLP: z-scored inputs, unweighted cross-entropy, early stopping on val loss.

    Layers and optimiser as this pipeline's defaults (64-32, dropout 0.1, Adam
    3e-3, batch 256, up to 30 epochs, patience 4), without its class weights.
    """
    import keras  # only this baseline pays for importing TensorFlow

    keras.utils.set_random_seed(seed)
    both = pd.get_dummies(pd.concat([x_train, x_test]), dtype="float32").fillna(0.0)
    x_train, x_test = both.iloc[: len(x_train)], both.iloc[len(x_train) :]
    classes, y = np.unique(y_train, return_inverse=True)
    model = plain_network(x_train.to_numpy("float32"), len(classes))
    model.fit(
        x_train.to_numpy("float32"),
        y,
        batch_size=256,
        epochs=30,
        validation_split=0.1,
        callbacks=[keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True)],
        verbose=2,
    )
    scores = model.predict(x_test.to_numpy("float32"), batch_size=4096, verbose=0)
    return classes[scores.argmax(axis=1)]


def plain_network(x_train: np.ndarray, num_classes: int, metrics: tuple[str, ...] = ()):
    """The compiled 64-32 network on inputs z-scored with x_train's mean and variance."""
    import keras

    normalize = keras.layers.Normalization()
    normalize.adapt(x_train)
    model = keras.Sequential(
        [
            keras.Input((x_train.shape[1],)),
            normalize,
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(num_classes),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=list(metrics),
    )
    return model


MODELS = {"hgb": hgb, "keras": keras_mlp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--predictions", required=True, help="CSV to write, one class per row")
    parser.add_argument("--seed", type=int, default=0, help="the model's random seed")
    args = parser.parse_args()
    train = pd.read_csv(args.train)
    test = pd.read_csv(args.test)
    predicted = MODELS[args.model](
        train.drop(columns=[args.label]),
        train[args.label].astype(str),
        test.drop(columns=[args.label]),
        args.seed,
    )
    pd.DataFrame({"predicted": predicted}).to_csv(args.predictions, index=False)


if __name__ == "__main__":
    main()
