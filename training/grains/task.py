"""The grain VAE as a task for the shared training loop: loss, held-out checks, previews."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import soundfile
import torch
from torch import nn

from training.core.metrics import grain_power_spectra, spectral_scores
from training.core.plots import plot_latent_map, plot_loss_curve
from training.grains.augment import random_equaliser
from training.grains.dataset import GrainDataset
from training.grains.evaluation import resynthesize, vae_codec
from training.grains.losses import (
    gaussian_kl,
    level_normalised_error,
    log_spectral_distance_loss,
    multi_resolution_stft_loss,
    squared_error,
)
from training.grains.presets import (
    GrainArchitecture,
    GrainModel,
    GrainModelConfig,
    build_grain_model,
)

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
        self._level_dims = 0

    def build_model(self) -> nn.Module:
        model = build_grain_model(self.config, self.dataset.config.grain_size)
        self._level_dims = model.level_dims  # the loop may wrap the model (DDP) afterwards
        return model

    def batch(self, indices: torch.Tensor, device: torch.device) -> torch.Tensor:
        grains = self._train_grains[indices].to(device)
        return random_equaliser(grains, self.config.eq_fraction, self.config.eq_range_db)

    def training_loss(
        self, model: nn.Module, batch: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        reconstruction, mean, logvar = model(batch)
        config = self.config
        free = self._level_dims  # measured dimensions carry no KL
        kl = gaussian_kl(mean[:, free:], logvar[:, free:])
        loss = config.beta * kl
        terms = {"kl": kl.item()}
        if config.squared_error_weight:
            error = squared_error(reconstruction, batch)
            loss = loss + config.squared_error_weight * error
            terms["squared_error"] = error.item()
        if config.shape_error_weight:
            error = level_normalised_error(reconstruction, batch)
            loss = loss + config.shape_error_weight * error
            terms["shape_error"] = error.item()
        if config.lsd_weight:
            distance = log_spectral_distance_loss(reconstruction, batch)
            loss = loss + config.lsd_weight * distance
            terms["lsd_db"] = distance.item()
        if config.stft_weight:
            spectral = multi_resolution_stft_loss(*self._stft_inputs(reconstruction, batch))
            loss = loss + config.stft_weight * spectral
            terms["stft"] = spectral.item()
        return loss, terms

    def _stft_inputs(self, reconstruction: torch.Tensor,
                     batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.architecture is GrainArchitecture.CONV:
            return reconstruction, batch
        rms = torch.sqrt(batch.square().mean(dim=-1, keepdim=True) + 1e-12)
        return reconstruction / rms, batch / rms

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        grains = self._test_grains.to(device)
        vae = cast(GrainModel, model)
        mean, logvar = vae.encode(grains)
        reconstruction = vae.decode(mean)
        scores = spectral_scores(self._test_spectra,
                                 grain_power_spectra(reconstruction.cpu().numpy()))
        return {
            "squared_error": float(squared_error(reconstruction, grains)),
            "kl": float(gaussian_kl(mean[:, vae.level_dims:], logvar[:, vae.level_dims:])),
            **scores,
        }

    def write_evaluation_outputs(self, model: nn.Module, step: int, history: dict) -> None:
        plot_loss_curve(history, self.run_dir / "loss.png", eval_key="lsd_db")
        device = next(model.parameters()).device
        with torch.no_grad():
            latents, _ = cast(GrainModel, model).encode(self._test_grains.to(device))
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
        codec = vae_codec(cast(GrainModel, model), next(model.parameters()).device)
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
