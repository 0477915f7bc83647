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
from training.grains.vae import GrainVAE

GrainCodec = Callable[[np.ndarray], np.ndarray]


def vae_codec(model: GrainVAE, device: torch.device, batch_size: int = 4096) -> GrainCodec:
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
    """Per-grain and whole-file log-spectral distance and spectral convergence."""
    grains = dataset.test_grains
    per_grain = spectral_scores(grain_power_spectra(grains), grain_power_spectra(codec(grains)))
    grain_size = dataset.config.grain_size
    reference_frames, estimate_frames = [], []
    for signal in dataset.test_signals:
        reference_frames.append(stft_power(signal, grain_size, grain_size // 4))
        estimate_frames.append(stft_power(resynthesize(signal, codec, grain_size),
                                          grain_size, grain_size // 4))
    reference, estimate = np.concatenate(reference_frames), np.concatenate(estimate_frames)
    whole_file = {
        "lsd_db": spectral_scores(reference, estimate)["lsd_db"],
        "spectral_convergence": total_spectral_convergence(reference, estimate),
    }
    return {"grain": per_grain, "file": whole_file}
