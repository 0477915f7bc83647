"""The grain VAE as a task for the shared training loop: loss, held-out checks, previews."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import soundfile
import torch
from torch import nn

from training.core.metrics import grain_power_spectra, spectral_scores
from training.core.plots import plot_latent_map, plot_loss_curve
from training.grains.dataset import GrainDataset
from training.grains.evaluation import resynthesize, vae_codec
from training.grains.losses import gaussian_kl, multi_resolution_stft_loss, squared_error
from training.grains.vae import GrainVAE


@dataclass(frozen=True)
class GrainModelConfig:
    """Loss settings of a grain VAE; the architecture is the prototype's in every preset."""

    preset: str = "prototype"
    beta: float = 0.01
    stft_weight: float = 0.0


GRAIN_PRESETS: dict[str, GrainModelConfig] = {
    # The original prototype: beta-weighted ELBO with a Gaussian (squared-error) likelihood.
    "prototype": GrainModelConfig(preset="prototype", beta=0.01, stft_weight=0.0),
    # The same network with a multi-resolution STFT term, which listens like an ear does.
    "spectral": GrainModelConfig(preset="spectral", beta=0.01, stft_weight=4.0),
}

PREVIEW_FILES = 2
PREVIEW_SECONDS = 4.0


class GrainTask:
    """Adapts a :class:`GrainDataset` and a :class:`GrainModelConfig` to the training loop."""

    def __init__(self, dataset: GrainDataset, config: GrainModelConfig, run_dir: Path) -> None:
        self.dataset = dataset
        self.config = config
        self.run_dir = run_dir
        self.fingerprint = dataset.fingerprint()
        self.train_size = len(dataset.train_grains)
        self._train_grains = torch.from_numpy(dataset.train_grains)
        self._test_grains = torch.from_numpy(dataset.test_grains)
        self._test_spectra = grain_power_spectra(dataset.test_grains)  # fixed: compute once

    def build_model(self) -> nn.Module:
        return GrainVAE(grain_size=self.dataset.config.grain_size)

    def batch(self, indices: torch.Tensor, device: torch.device) -> torch.Tensor:
        return self._train_grains[indices].to(device)

    def training_loss(
        self, model: nn.Module, batch: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        reconstruction, mean, logvar = model(batch)
        reconstruction_error = squared_error(reconstruction, batch)
        kl = gaussian_kl(mean, logvar)
        loss = reconstruction_error + self.config.beta * kl
        terms = {"squared_error": reconstruction_error.item(), "kl": kl.item()}
        if self.config.stft_weight:
            spectral = multi_resolution_stft_loss(reconstruction, batch)
            loss = loss + self.config.stft_weight * spectral
            terms["stft"] = spectral.item()
        return loss, terms

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        grains = self._test_grains.to(device)
        vae = cast(GrainVAE, model)
        mean, logvar = vae.encode(grains)
        reconstruction = vae.decode(mean)
        scores = spectral_scores(self._test_spectra,
                                 grain_power_spectra(reconstruction.cpu().numpy()))
        return {
            "squared_error": float(squared_error(reconstruction, grains)),
            "kl": float(gaussian_kl(mean, logvar)),
            **scores,
        }

    def write_evaluation_outputs(self, model: nn.Module, step: int, history: dict) -> None:
        plot_loss_curve(history, self.run_dir / "loss.png", eval_key="lsd_db")
        device = next(model.parameters()).device
        with torch.no_grad():
            latents, _ = cast(GrainVAE, model).encode(self._test_grains.to(device))
        latents_np = latents.cpu().numpy()
        centred = latents_np - latents_np.mean(axis=0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        plot_latent_map(centred @ axes[:2].T, self.dataset.test_file_ids,
                        self.dataset.file_names, self.run_dir / "latent_map.png")
        self._write_previews(model, step)

    def _write_previews(self, model: nn.Module, step: int) -> None:
        previews = self.run_dir / "previews"
        previews.mkdir(exist_ok=True)
        rate = self.dataset.config.sample_rate
        codec = vae_codec(cast(GrainVAE, model), next(model.parameters()).device)
        for file_id, signal in zip(self.dataset.test_files[:PREVIEW_FILES],
                                   self.dataset.test_signals, strict=False):
            excerpt = signal[: int(PREVIEW_SECONDS * rate)]
            stem = Path(self.dataset.file_names[file_id]).stem
            original = previews / f"original_{stem}.wav"
            if not original.exists():
                soundfile.write(original, excerpt, rate, subtype="FLOAT")
            rebuilt = resynthesize(excerpt, codec, self.dataset.config.grain_size)
            soundfile.write(previews / f"step{step:06d}_{stem}.wav", rebuilt, rate,
                            subtype="FLOAT")
