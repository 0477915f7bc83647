"""Cutting signals into grains (putting them back together lives in synth.grains.tables)."""

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
