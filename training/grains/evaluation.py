"""Held-out evaluation of a grain codec (the VAE or the PCA baseline) on the test files."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from synth.grains.tables import overlap_add
from training.core.metrics import (
    grain_power_spectra,
    spectral_scores,
    stft_power,
    total_spectral_convergence,
)
from training.grains.cutting import slice_grains
from training.grains.dataset import GrainDataset
from training.grains.presets import GrainModel

GrainCodec = Callable[[np.ndarray], np.ndarray]

QUIET_DB = -40.0  # frames quieter than this (and above digital silence) are the quiet ones
SILENT_DB = -100.0


def vae_codec(model: GrainModel, device: torch.device, batch_size: int = 4096) -> GrainCodec:
    """Encode to the posterior mean and decode: the deterministic reconstruction."""

    def reconstruct(grains: np.ndarray) -> np.ndarray:
        model.eval()
        outputs = []
        with torch.no_grad():
            for start in range(0, len(grains), batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(grains[start:start + batch_size]))
                mean, _ = model.encode(chunk.to(device))
                outputs.append(model.decode(mean).cpu().numpy())
        return np.concatenate(outputs) if outputs else np.zeros_like(grains)

    return reconstruct


def resynthesize(signal: np.ndarray, codec: GrainCodec, grain_size: int) -> np.ndarray:
    """Slice a whole file at 50% overlap, pass each grain through the codec, overlap-add."""
    hop = grain_size // 2
    padded = np.pad(signal, (hop, hop + (-len(signal)) % hop))
    grains = slice_grains(padded.astype(np.float32), grain_size, hop)
    rebuilt = overlap_add(codec(grains), hop)
    return rebuilt[hop : hop + len(signal)]


def evaluate_codec(codec: GrainCodec, dataset: GrainDataset) -> dict[str, dict[str, float]]:
    """Per-grain and whole-file log-spectral distance and spectral convergence, how quiet
    frames keep their level, and what silence decodes to."""
    grains = dataset.test_grains
    per_grain = spectral_scores(grain_power_spectra(grains), grain_power_spectra(codec(grains)))
    grain_size = dataset.config.grain_size
    return {"grain": per_grain, **evaluate_files(codec, dataset.test_signals, grain_size),
            "silence": {"decoded_rms_db": _level_db(codec(np.zeros((1, grain_size),
                                                                   np.float32)))}}


def evaluate_files(codec: GrainCodec, signals: list[np.ndarray],
                   grain_size: int) -> dict[str, dict[str, float]]:
    """Whole files resynthesised grain by grain: spectral distance, and the level of the
    quiet frames (QUIET_DB and below) against the original's."""
    reference_frames, estimate_frames, level_errors = [], [], []
    for signal in signals:
        rebuilt = resynthesize(signal, codec, grain_size)
        reference_frames.append(stft_power(signal, grain_size, grain_size // 4))
        estimate_frames.append(stft_power(rebuilt, grain_size, grain_size // 4))
        level_errors.append(_quiet_level_errors(signal, rebuilt, grain_size))
    reference, estimate = np.concatenate(reference_frames), np.concatenate(estimate_frames)
    errors = np.concatenate(level_errors)
    return {
        "file": {"lsd_db": spectral_scores(reference, estimate)["lsd_db"],
                 "spectral_convergence": total_spectral_convergence(reference, estimate)},
        "quiet_frames": {
            "frames": len(errors),
            "median_level_error_db": float(np.median(np.abs(errors))) if len(errors) else 0.0,
            "within_6_db": float(np.mean(np.abs(errors) <= 6.0)) if len(errors) else 1.0,
        },
    }


def _quiet_level_errors(signal: np.ndarray, rebuilt: np.ndarray, size: int) -> np.ndarray:
    """dB of the rebuilt frame against the original, for the original's quiet frames."""
    frames = np.lib.stride_tricks.sliding_window_view(signal, size)[::size // 4]
    rebuilt_frames = np.lib.stride_tricks.sliding_window_view(rebuilt, size)[::size // 4]
    original = _frame_levels_db(frames)
    quiet = (original < QUIET_DB) & (original > SILENT_DB)
    return _frame_levels_db(rebuilt_frames)[quiet] - original[quiet]


def _frame_levels_db(frames: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=-1) + 1e-20)


def _level_db(audio: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(audio, dtype=np.float64)) + 1e-20))
