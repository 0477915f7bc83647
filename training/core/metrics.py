"""Spectral distances between reference and reconstructed audio (numpy, no torch)."""

from __future__ import annotations

import numpy as np

from synth.grains.tables import hann_window

POWER_FLOOR = 1e-8  # -80 dB relative to a full-scale sine: keeps log spectra finite


def grain_power_spectra(grains: np.ndarray) -> np.ndarray:
    """Hann-windowed power spectrum of each grain, scaled so a full-scale sine peaks near 1."""
    window = hann_window(grains.shape[-1])
    spectrum = np.fft.rfft(grains * window, axis=-1) / (window.sum() / 2.0)
    return np.abs(spectrum) ** 2


def stft_power(signal: np.ndarray, fft_size: int = 512, hop: int = 128) -> np.ndarray:
    """Power spectrogram [frames, bins] with the same scaling as :func:`grain_power_spectra`."""
    if len(signal) < fft_size:
        signal = np.pad(signal, (0, fft_size - len(signal)))
    frames = np.lib.stride_tricks.sliding_window_view(signal, fft_size)[::hop]
    return grain_power_spectra(frames)


def log_spectral_distance(reference_power: np.ndarray, estimate_power: np.ndarray) -> np.ndarray:
    """Per-frame log-spectral distance in dB: RMS over bins of the dB difference."""
    difference = 10.0 * (
        np.log10(reference_power + POWER_FLOOR) - np.log10(estimate_power + POWER_FLOOR)
    )
    return np.sqrt(np.mean(difference**2, axis=-1))


def spectral_convergence(reference_power: np.ndarray, estimate_power: np.ndarray) -> np.ndarray:
    """Per-frame ||ref| - |est|| / ||ref|| on magnitudes (0 is perfect)."""
    reference, estimate = np.sqrt(reference_power), np.sqrt(estimate_power)
    return np.linalg.norm(reference - estimate, axis=-1) / (
        np.linalg.norm(reference, axis=-1) + 1e-12
    )


def spectral_scores(reference_power: np.ndarray, estimate_power: np.ndarray) -> dict[str, float]:
    """Mean log-spectral distance (dB) and spectral convergence over all frames."""
    return {
        "lsd_db": float(np.mean(log_spectral_distance(reference_power, estimate_power))),
        "spectral_convergence": float(
            np.mean(spectral_convergence(reference_power, estimate_power))
        ),
    }


def total_spectral_convergence(reference_power: np.ndarray, estimate_power: np.ndarray) -> float:
    """||S - S_hat||_F / ||S||_F over a whole spectrogram (the usual whole-signal measure;
    a per-frame mean would be dominated by near-silent frames)."""
    reference, estimate = np.sqrt(reference_power), np.sqrt(estimate_power)
    return float(np.linalg.norm(reference - estimate) / (np.linalg.norm(reference) + 1e-12))
