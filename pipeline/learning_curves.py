"""What a model family's learning curves say, in words: overfitting, underfitting or neither.

The Trainer records, per MLP epoch or per boosting round, the macro-F1 and the
loss on the rows it fits (the MLP's training batches; up to 5,000 fit rows for
the trees) and on the validation rows (training.json, families.*.curves). The
rules are deliberately plain, so that a reader can check them on the plot:

- overfits: the train macro-F1 is OVERFIT_GAP or more above the validation
  macro-F1 at the best step, or the validation loss ends LOSS_RISE above its
  lowest point;
- may underfit: the validation macro-F1 is still at its best at the last step;
- underfits: train and validation macro-F1 are both below UNDERFIT_LEVEL;
- otherwise neither.
"""

OVERFIT_GAP = 0.1
LOSS_RISE = 0.1  # relative: the validation loss ends 10 % above its minimum
UNDERFIT_LEVEL = 0.5

# unit, what curbs overfitting, what lets training go on, what adds capacity
ADVICE = {
    "mlp": (
        "epoch",
        "more dropout or L1/L2 (training.dropout, l1, l2), or fewer epochs",
        "raise training.epochs",
        "more capacity (training.hidden_units) or features",
    ),
    "gbt": (
        "round",
        "smaller or more regularised trees (training.gbt_max_leaf_nodes, "
        "gbt_min_samples_leaf, gbt_l2); the best round is already the one served",
        "raise training.gbt_max_iterations",
        "larger trees (training.gbt_max_leaf_nodes) or features",
    ),
}


def diagnose(curves: dict[str, list[float]], family: str) -> str:
    """One or two sentences on over- or underfitting, naming the config keys that help."""
    unit, curb, go_on, capacity = ADVICE[family]
    train, validation = curves["macro_f1"], curves["val_macro_f1"]
    best = max(range(len(validation)), key=validation.__getitem__)  # the first best
    at_best = (
        f"train macro-F1 {train[best]:.2f}, validation {validation[best]:.2f} at the best "
        f"{unit} ({best + 1} of {len(validation)})"
    )
    gaps = [t - v for t, v in zip(train, validation, strict=True)]
    losses = curves["val_loss"]
    lowest = min(range(len(losses)), key=losses.__getitem__)
    loss_rise = losses[-1] > losses[lowest] * (1 + LOSS_RISE)
    if gaps[best] >= OVERFIT_GAP:
        opens = next(i for i, gap in enumerate(gaps) if gap >= OVERFIT_GAP)
        return (
            f"{at_best}; the gap passes {OVERFIT_GAP} from {unit} {opens + 1} on: the model "
            f"overfits. Try {curb}."
        )
    if loss_rise:
        return (
            f"{at_best}; the validation loss ends {losses[-1] / losses[lowest] - 1:.0%} above "
            f"its lowest ({unit} {lowest + 1}): the model overfits in its probabilities. "
            f"Try {curb}."
        )
    if train[best] < UNDERFIT_LEVEL and validation[best] < UNDERFIT_LEVEL:
        return f"{at_best}: both low, so the model underfits. Try {capacity}."
    if best == len(validation) - 1 and len(validation) > 1:
        return f"{at_best}: still improving at the last {unit}, so it may underfit; {go_on}."
    return f"{at_best}: no sign of over- or underfitting."
