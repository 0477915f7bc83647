"""Drawing the next sample's class from the voice's logits.

One uniform number per draw (inverse transform sampling) instead of one Gumbel number per
class: drawing and taking logarithms of 256 numbers a sample was a third of the voice's
time. Classes more than CUTOFF nats below the likeliest are left out; together they hold
less than 1e-10 of the probability.

What a voice plays need not be the drawn class's level. With level averaging it plays the
mean of the levels within a few classes of the drawn one, weighted by the same
probabilities, while the network goes on hearing the drawn class: the 8-bit mu-law grid the
network samples on puts a noise floor about 45 dB under a note, and the probabilities of
the neighbouring classes say where between them the sample lies.
"""

from __future__ import annotations

import numpy as np

CUTOFF = -30.0


def draw_classes(logits: np.ndarray, inverse_temperature: float,
                 uniforms: np.ndarray) -> np.ndarray:
    """Classes [voices] drawn from softmax(logits / T) [voices, levels], uniforms in [0, 1)."""
    peak = logits.max(axis=1, keepdims=True)
    scaled = ((logits - peak) * np.float32(inverse_temperature)).astype(np.float32)
    weights = np.where(scaled > CUTOFF, np.exp(scaled), np.float32(0.0))
    cumulative = np.cumsum(weights, axis=1, dtype=np.float32)
    target = uniforms.astype(np.float32) * cumulative[:, -1]
    chosen = (cumulative <= target[:, None]).sum(axis=1)
    # Rounding can leave the target past the end: the last class in the running then.
    last_weighted = logits.shape[1] - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)
    return np.minimum(chosen, last_weighted)


def averaged_levels(logits: np.ndarray, chosen: np.ndarray, spread: int,
                    inverse_temperature: float, class_values: np.ndarray) -> np.ndarray:
    """What each voice plays [voices]: the mean of ``class_values`` over the classes within
    ``spread`` of the ``chosen`` one, weighted by softmax(logits / T) [voices, levels]; the
    chosen class's own value when ``spread`` is 0."""
    if spread == 0:
        return class_values[chosen]
    levels = logits.shape[1]
    rows = np.arange(len(chosen))[:, None]
    near = chosen[:, None] + np.arange(-spread, spread + 1)
    inside = (near >= 0) & (near < levels)
    near = np.clip(near, 0, levels - 1)
    scaled = (logits[rows, near] - logits[rows, chosen[:, None]]) * np.float32(inverse_temperature)
    weights = np.where(inside, np.exp(scaled.astype(np.float32)), np.float32(0.0))
    return ((weights * class_values[near]).sum(axis=1) / weights.sum(axis=1)).astype(np.float32)
