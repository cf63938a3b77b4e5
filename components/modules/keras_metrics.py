"""Streaming argmax metrics over class indices and logits, for training and tuning.

Both match scikit-learn on the same examples (f1_score(average='macro') and
balanced_accuracy_score), so early stopping and the Tuner optimise what the
Evaluator gates on.
"""

import keras
from keras import ops


class MacroF1(keras.metrics.Metric):
    """Argmax macro-F1 over the classes present in labels or predictions."""

    def __init__(self, num_classes: int, name: str = "macro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.confusion = self.add_variable(
            shape=(num_classes, num_classes), initializer="zeros", name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.num_classes)
        predicted = ops.one_hot(ops.argmax(y_pred, axis=-1), self.num_classes)
        self.confusion.assign_add(ops.matmul(ops.transpose(labels), predicted))

    def result(self):
        true_positives = ops.diagonal(self.confusion)
        actual = ops.sum(self.confusion, axis=1)
        predicted = ops.sum(self.confusion, axis=0)
        f1 = ops.divide_no_nan(2.0 * true_positives, actual + predicted)
        present = ops.cast(actual + predicted > 0, "float32")
        return ops.divide_no_nan(ops.sum(f1 * present), ops.sum(present))

    def reset_state(self):
        self.confusion.assign(ops.zeros_like(self.confusion))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


class BalancedAccuracy(MacroF1):
    """Argmax recall averaged over the classes present in the labels."""

    def __init__(self, num_classes: int, name: str = "balanced_accuracy", **kwargs):
        super().__init__(num_classes, name=name, **kwargs)

    def result(self):
        actual = ops.sum(self.confusion, axis=1)
        recall = ops.divide_no_nan(ops.diagonal(self.confusion), actual)
        present = ops.cast(actual > 0, "float32")
        return ops.divide_no_nan(ops.sum(recall * present), ops.sum(present))
