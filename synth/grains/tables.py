"""Turning decoded grains into the 1-D tables the granulator reads."""

from __future__ import annotations

import numpy as np

from synth.contract.model_file import GrainModelInfo

POINT_GRAINS = 24
POINT_SPREAD = 0.05  # in units of each dimension's training std: a cloud, not a buzz
TARGET_RMS_DB = -12.0
MAX_GAIN_DB = 40.0


def hann_window(size: int) -> np.ndarray:
    """Periodic Hann window (sums to a constant at 50% and 75% overlap)."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)).astype(np.float64)


def overlap_add(grains: np.ndarray, hop: int) -> np.ndarray:
    """Hann-windowed overlap-add of grains placed every ``hop`` samples.

    Adjacent grains cross-fade through the window; with hop = grain_size / 2 the windows sum
    to one, so a signal sliced into grains comes back unchanged away from its two ends.
    """
    count, grain_size = grains.shape
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    window = hann_window(grain_size)
    out = np.zeros((count - 1) * hop + grain_size, dtype=np.float64)
    for index in range(count):
        start = index * hop
        out[start : start + grain_size] += grains[index] * window
    return (out * (hop / window.sum())).astype(np.float32)


MAX_PATH_GRAINS = 512  # the most /trajectory/grains allows


def table_length(grain_count: int, grain_size: int, hop: int) -> int:
    return (grain_count - 1) * hop + grain_size


def table_samples(model: GrainModelInfo) -> int:
    """Room for the longest table: a path of the most grains the address table allows."""
    return table_length(MAX_PATH_GRAINS, model.grain_size, model.grain_size // 2)


def point_cloud(center: np.ndarray, std: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Latents scattered closely around ``center`` so a held point has life in it."""
    noise = rng.standard_normal((POINT_GRAINS, len(center)))
    return center[None, :] + POINT_SPREAD * std[None, :] * noise


def safe_table(samples: np.ndarray) -> np.ndarray:
    """Non-finite samples become silence and everything stays within [-1, 1]."""
    return np.clip(np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0).astype(
        np.float32)


def normalise_level(table: np.ndarray) -> np.ndarray:
    """Bring a table to -12 dBFS RMS (at most +40 dB, peaks within [-1, 1]).

    Decoded regions differ in level by tens of dB (the median latent decodes to a quiet,
    generic grain): the latent point chooses the timbre, ``/volume`` the loudness.
    """
    rms = float(np.sqrt(np.mean(np.square(table, dtype=np.float64)))) if len(table) else 0.0
    if rms == 0.0:
        return table
    gain = min(10 ** ((TARGET_RMS_DB - 20 * np.log10(rms)) / 20), 10 ** (MAX_GAIN_DB / 20))
    peak = float(np.max(np.abs(table)))
    gain = min(gain, 1.0 / peak)
    return (table * gain).astype(np.float32)
