"""Export a trained grain VAE as a validated TorchScript model file (nn~ and the synth load it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synth.contract.model_file import (
    FORMAT_VERSION,
    GRAIN_METHODS,
    KIND_GRAINS,
)
from training.core.model_file_writer import ExportError, write_model_file
from training.core.run_folder import provenance, read_run_config
from training.grains.dataset import GrainDataset
from training.grains.level_shape import LevelShapeVAE
from training.grains.presets import GrainModel
from training.grains.run import load_trained_run
from training.grains.timbre import timbre_axes

NN_TILDE_TEST_LENGTH = 8192
QUANTILE_LEVELS = 101  # 0%, 1%, ..., 100%
DECODER_PREFIX = "vae.decoder"  # the state the decoding worker needs, carried as numpy arrays


class ScriptedGrainModel(nn.Module):
    """What a grains model file holds: the VAE behind two sets of methods.

    For the synth, in the grain domain: ``decode_grains`` [B, latent] -> [B, grain] and
    ``encode_grains`` [B, grain] -> [B, latent] (posterior mean). For nn~, float32
    [B, C, T] signals: ``encode`` [B, 1, T] -> [B, latent, T / grain], ``decode``
    [B, latent, N] -> [B, 1, N * grain] (grains placed end to end) and ``forward`` (both).
    """

    def __init__(self, vae: GrainModel) -> None:
        super().__init__()
        self.vae = vae
        self.grain_size = vae.grain_size
        self.latent_dim = vae.latent_dim
        # What the synth's numpy decoder reads, with the decoder's weights the file carries
        # (synth/grains/level_shape_decoder.py).
        self.level_dims = vae.level_dims
        if isinstance(vae, LevelShapeVAE):
            self.level_floor_db, self.level_centre_db, self.level_unit_db = (
                vae.floor_db, vae.centre_db, vae.unit_db)
        grain, latent = vae.grain_size, vae.latent_dim
        self.register_buffer("encode_params", torch.tensor([1, 1, latent, grain]))
        self.register_buffer("decode_params", torch.tensor([latent, grain, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))

    @torch.jit.export
    def decode_grains(self, latents: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latents)

    @torch.jit.export
    def encode_grains(self, grains: torch.Tensor) -> torch.Tensor:
        mean, _ = self.vae.encode(grains)
        return mean

    @torch.jit.export
    def encode(self, signal: torch.Tensor) -> torch.Tensor:
        batch = signal.shape[0]
        count = signal.shape[-1] // self.grain_size
        grains = signal[:, 0, : count * self.grain_size].reshape(batch * count, self.grain_size)
        latents = self.encode_grains(grains)
        return latents.reshape(batch, count, self.latent_dim).transpose(1, 2)

    @torch.jit.export
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        batch, count = latents.shape[0], latents.shape[2]
        flat = latents.transpose(1, 2).reshape(batch * count, self.latent_dim)
        grains = self.decode_grains(flat)
        return grains.reshape(batch, 1, count * self.grain_size)

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(signal))

    @torch.jit.export
    def get_methods(self) -> list[str]:
        return ["forward", "encode", "decode"]

    @torch.jit.export
    def get_attributes(self) -> list[str]:
        return []


def export_grain_run(run_dir: Path, out: Path) -> dict[str, Any]:
    """Load a run's last checkpoint, validate the scripted model, write it atomically."""
    if read_run_config(run_dir).get("kind") != KIND_GRAINS:
        raise ExportError(f"{run_dir}: not a grains run")
    run = load_trained_run(run_dir)
    metadata = grain_metadata(run.vae, run.dataset, run.config,
                              trained_steps=int(run.state["step"]))
    write_model_file(ScriptedGrainModel(run.vae), metadata, out, check=check_contract,
                     same_output=_same_decodes, carry_weights=True,
                     carried_prefix=DECODER_PREFIX)
    return metadata


def grain_metadata(
    vae: GrainModel, dataset: GrainDataset, config: dict, trained_steps: int
) -> dict[str, Any]:
    """Everything the runtime needs to know, measured on the training grains."""
    latents = _encode_all(vae, dataset.train_grains)
    levels = np.linspace(0.0, 1.0, QUANTILE_LEVELS)
    centred = latents - latents.mean(axis=0)
    # The xy plane spans timbre only: a measured level dimension stays at its mean there
    # (the synth levels its tables anyway).
    centred[:, : vae.level_dims] = 0.0
    _, singular_values, axes = np.linalg.svd(centred, full_matrices=False)
    variance = singular_values**2
    projected = centred @ axes[:2].T
    xy_range = np.quantile(projected, [0.01, 0.99], axis=0).T
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND_GRAINS,
        "sample_rate": dataset.config.sample_rate,
        "grain_size": vae.grain_size,
        "latent_dim": vae.latent_dim,
        "latent_quantile_levels": levels.tolist(),
        "latent_quantiles": np.quantile(latents, levels, axis=0).tolist(),
        "latent_mean": latents.mean(axis=0).tolist(),
        "latent_std": latents.std(axis=0).tolist(),
        "latent_pca_mean": latents.mean(axis=0).tolist(),
        "latent_pca_axes": axes.tolist(),
        "latent_pca_explained": (variance / variance.sum()).tolist(),
        "latent_pca_xy_range": xy_range.tolist(),
        "timbre_axes": timbre_axes(_decoder(vae), latents, dataset.config.sample_rate,
                                   level_dims=vae.level_dims),
        **provenance(config, trained_steps, dataset.summary()),
    }


def check_contract(scripted: torch.jit.ScriptModule, metadata: dict[str, Any]) -> None:
    """Raise ExportError unless every method has the shapes, dtype and finiteness promised."""
    missing = [name for name in GRAIN_METHODS if not hasattr(scripted, name)]
    if missing:
        raise ExportError(f"model lacks methods {', '.join(missing)}")
    latent, grain = metadata["latent_dim"], metadata["grain_size"]
    with torch.no_grad():
        _expect(scripted.decode_grains(torch.zeros(2, latent)), (2, grain), "decode_grains")
        _expect(scripted.encode_grains(torch.zeros(2, grain)), (2, latent), "encode_grains")
        for method in scripted.get_methods():
            in_ch, in_ratio, out_ch, out_ratio = getattr(scripted, f"{method}_params").tolist()
            zeros = torch.zeros(1, in_ch, NN_TILDE_TEST_LENGTH // in_ratio)
            output = getattr(scripted, method)(zeros)
            _expect(output, (1, out_ch, NN_TILDE_TEST_LENGTH // out_ratio), f"nn~ {method}")


def _expect(output: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
    if tuple(output.shape) != shape:
        raise ExportError(f"{name} returns shape {tuple(output.shape)}, expected {shape}")
    if output.dtype != torch.float32:
        raise ExportError(f"{name} returns {output.dtype}, expected float32")
    if not torch.isfinite(output).all():
        raise ExportError(f"{name} returns non-finite values")


def _same_decodes(reloaded: torch.jit.ScriptModule, scripted: torch.jit.ScriptModule,
                  metadata: dict[str, Any]) -> bool:
    probe = torch.randn(4, metadata["latent_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.equal(reloaded.decode_grains(probe), scripted.decode_grains(probe))


def _decoder(vae: GrainModel) -> Callable[[np.ndarray], np.ndarray]:
    def decode(latents: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return vae.decode(torch.from_numpy(np.asarray(latents, np.float32))).numpy()

    return decode


def _encode_all(vae: GrainModel, grains: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    chunks = []
    with torch.no_grad():
        for start in range(0, len(grains), batch_size):
            mean, _ = vae.encode(torch.from_numpy(grains[start : start + batch_size]))
            chunks.append(mean.numpy())
    return np.concatenate(chunks).astype(np.float64)

