"""Drawing the next sample's class from the voice's logits.

One uniform number per draw (inverse transform sampling) instead of one Gumbel number per
class: drawing and taking logarithms of 256 numbers a sample was a third of the voice's
time. Classes more than CUTOFF nats below the likeliest are left out; together they hold
less than 1e-10 of the probability.
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
