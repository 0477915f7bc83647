"""Cutting signals into grains and putting grains back together."""

from __future__ import annotations

import numpy as np


def slice_grains(signal: np.ndarray, grain_size: int, hop: int) -> np.ndarray:
    """All full grains of ``signal`` starting every ``hop`` samples, shape [n, grain_size]."""
    if len(signal) < grain_size:
        return np.zeros((0, grain_size), dtype=signal.dtype)
    view = np.lib.stride_tricks.sliding_window_view(signal, grain_size)[::hop]
    return np.ascontiguousarray(view)


def grain_rms_db(grains: np.ndarray) -> np.ndarray:
    """RMS level of each grain in dBFS (silence is -inf clamped to -200)."""
    rms = np.sqrt(np.mean(np.square(grains, dtype=np.float64), axis=-1))
    return 20.0 * np.log10(np.maximum(rms, 1e-10))


def overlap_add(grains: np.ndarray, hop: int) -> np.ndarray:
    """Hann-windowed overlap-add of grains placed every ``hop`` samples.

    With a periodic Hann window and hop = grain_size / 2 the windows sum to one, so a
    signal sliced with :func:`slice_grains` comes back unchanged away from its two ends.
    """
    count, grain_size = grains.shape
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    window = hann_window(grain_size)
    gain = _overlap_gain(grain_size, hop)
    out = np.zeros((count - 1) * hop + grain_size, dtype=np.float64)
    for index in range(count):
        start = index * hop
        out[start : start + grain_size] += grains[index] * window
    return (out / gain).astype(np.float32)


def hann_window(size: int) -> np.ndarray:
    """Periodic Hann window (sums to a constant at 50% and 75% overlap)."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)).astype(np.float64)


def _overlap_gain(grain_size: int, hop: int) -> float:
    return float(hann_window(grain_size).sum() / hop)
