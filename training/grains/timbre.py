"""Timbre axes: the latent directions along which what a decoded grain sounds like moves most
cleanly (brightness, noisiness, pitch salience), measured at export on the model's own
decoded grains, with how monotonic each one is (Spearman's rho of the descriptor against the
slider, over many starting points). Level is not an axis: the synth levels its tables, so
loudness belongs to /volume."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import spearmanr

from synth.contract.model_file import TIMBRE_AXES
from synth.grains.tables import hann_window

Decoder = Callable[[np.ndarray], np.ndarray]

DESCRIPTORS = dict(zip(TIMBRE_AXES, (  # bright, noisy, pitched
    "spectral centroid (Hz)",
    "spectral flatness (dB)",
    "pitch salience (normalised autocorrelation peak, 60..1000 Hz)",
), strict=True))
SLIDER_STEPS = 11
SPAN_STDS = 2.0  # the slider's full throw moves this many standard deviations along the axis


def grain_descriptors(grains: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """Each descriptor of each grain [B, N], and its level ("loud", dB)."""
    grains = np.asarray(grains, np.float64)
    power = np.abs(np.fft.rfft(grains * hann_window(grains.shape[-1]), axis=-1)) ** 2 + 1e-20
    frequencies = np.fft.rfftfreq(grains.shape[-1], 1.0 / sample_rate)
    level = 10 * np.log10(np.mean(grains**2, axis=-1) + 1e-20)
    centroid = power @ frequencies / power.sum(axis=-1)
    flatness = 10 * (np.mean(np.log10(power), axis=-1) - np.log10(power.mean(axis=-1)))
    return {"loud": level, "bright": centroid, "noisy": flatness,
            "pitched": _pitch_salience(grains, sample_rate)}


def _pitch_salience(grains: np.ndarray, sample_rate: int) -> np.ndarray:
    size = grains.shape[-1]
    centred = grains - grains.mean(axis=-1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * size, axis=-1)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, axis=-1)[:, :size]
    low, high = int(sample_rate / 1000.0), min(size // 2, int(sample_rate / 60.0))
    # unbiased: each lag's sum has size - lag terms
    normalised = correlation[:, low:high] / (size - np.arange(low, high)) \
        / (correlation[:, :1] / size + 1e-20)
    return normalised.max(axis=-1)


def timbre_axes(decode: Decoder, latents: np.ndarray, sample_rate: int, level_dims: int = 0,
                seed: int = 0, points: int = 2048, starts: int = 32) -> dict[str, dict]:
    """For each descriptor: the unit latent direction that raises it (a least-squares fit of
    the descriptor of decoded grains on their latents), the slider's span along it, and how
    monotonic the descriptor is along the slider from ``starts`` training latents. The first
    ``level_dims`` dimensions (a measured level) are left out of every axis."""
    rng = np.random.default_rng(seed)
    sample = latents[rng.choice(len(latents), size=min(points, len(latents)), replace=False)]
    descriptors = grain_descriptors(decode(sample), sample_rate)
    centred = sample - sample.mean(axis=0)
    centred[:, :level_dims] = 0.0  # not fitted: the level stays where the point has it
    scale = centred.std(axis=0) + 1e-9
    bases = latents[rng.choice(len(latents), size=min(starts, len(latents)), replace=False)]
    slider = np.linspace(-1.0, 1.0, SLIDER_STEPS)
    axes = {}
    for name in TIMBRE_AXES:
        values = descriptors[name]
        target = (values - values.mean()) / (values.std() + 1e-12)
        coefficients, *_ = np.linalg.lstsq(centred / scale, target, rcond=None)
        direction = coefficients / scale
        direction /= np.linalg.norm(direction) + 1e-12
        span = SPAN_STDS * float(np.std(centred @ direction))
        swept = (bases[:, None, :] + slider[None, :, None] * span * direction).reshape(
            -1, latents.shape[1])
        moved = grain_descriptors(decode(swept), sample_rate)[name].reshape(len(bases), -1)
        rhos = [_spearman(slider, row) for row in moved]
        axes[name] = {"descriptor": DESCRIPTORS[name], "direction": direction.tolist(),
                      "span": span, "spearman_median": float(np.median(rhos)),
                      "spearman_above_0_8": float(np.mean(np.asarray(rhos) > 0.8)),
                      "fit_r2": _r2(centred / scale @ coefficients, target)}
    return axes


def _spearman(slider: np.ndarray, values: np.ndarray) -> float:
    if np.ptp(values) == 0:
        return 0.0
    return float(spearmanr(slider, values).statistic)


def _r2(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(1.0 - np.sum((target - prediction) ** 2) / np.sum(target**2))
