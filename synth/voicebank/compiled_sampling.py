"""The compiled twins of :func:`synth.voicebank.sampling.draw_classes` and
:func:`~synth.voicebank.sampling.averaged_levels`, for the voices' numba loops (same cutoff,
same order of summation)."""

from __future__ import annotations

import numba
import numpy as np

from synth.voicebank.sampling import CUTOFF


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def draw_class(logits: np.ndarray, inverse_temperature: float, uniform: float,
               candidates: np.ndarray, weights: np.ndarray) -> int:
    """A class drawn from softmax(logits / T) [levels] by one uniform; ``candidates`` (int)
    and ``weights`` (float32) are scratch of [levels]. Only the few classes within CUTOFF of
    the likeliest (about 25 of 256 for the shipped voice) get an exponential."""
    peak = logits.max()
    count = 0
    for j in range(logits.shape[0]):
        if (logits[j] - peak) * inverse_temperature > CUTOFF:
            candidates[count] = j
            count += 1
    total = np.float32(0.0)
    for index in range(count):
        weights[index] = np.exp((logits[candidates[index]] - peak) * inverse_temperature)
        total += weights[index]
    target = uniform * total
    running = np.float32(0.0)
    for index in range(count):
        running += weights[index]
        if running > target:
            return candidates[index]
    return candidates[count - 1]  # rounding left the target past the end


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def averaged_level(logits: np.ndarray, chosen: int, spread: int, inverse_temperature: float,
                   class_values: np.ndarray) -> float:
    """What one voice plays: the mean of ``class_values`` over the classes within ``spread``
    of ``chosen``, weighted by softmax(logits / T) [levels]."""
    if spread == 0:
        return class_values[chosen]
    total = np.float32(0.0)
    weighted = np.float32(0.0)
    for j in range(max(0, chosen - spread), min(logits.shape[0], chosen + spread + 1)):
        weight = np.float32(np.exp((logits[j] - logits[chosen]) * inverse_temperature))
        total += weight
        weighted += weight * class_values[j]
    return float(weighted / total)
