"""The level-shape grain VAE: loudness kept apart from timbre.

One latent dimension is the grain's level, measured, not learned: ``(dB + 40) / 20``, so
-40 dBFS reads 0 and every 20 dB is one unit. The other dimensions are a VAE over the grain
scaled to unit RMS, so a quiet grain is as well described as a loud one and decodes at its
own level; silence (the level floor) decodes to silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

LEVEL_FLOOR_DB = -120.0
LEVEL_CENTRE_DB = -40.0
LEVEL_UNIT_DB = 20.0


def grain_level_db(grains: torch.Tensor, floor_db: float = LEVEL_FLOOR_DB) -> torch.Tensor:
    """RMS level of each grain [B, N] in dBFS, floored at ``floor_db``."""
    return (10.0 * torch.log10(grains.square().mean(-1) + 1e-12)).clamp(min=floor_db)


class LevelShapeVAE(nn.Module):
    """Latent = [level, shape...]; the shape half is a fully connected VAE.

    The encoder reads the unit-RMS grain and its log power spectrum (so timbre is seen
    independently of phase); the decoder is a two-layer MLP plus a linear path (a learned
    PCA-like basis), its output rescaled to unit RMS and then to the level dimension's dB.
    """

    if TYPE_CHECKING:  # a registered buffer, typed for mypy (TorchScript reads its value)
        window: torch.Tensor

    def __init__(self, *, grain_size: int = 512, latent_dim: int = 16, hidden: int = 512) -> None:
        super().__init__()
        self.grain_size = grain_size
        self.latent_dim = latent_dim
        self.level_dims = 1
        # Attributes, not module constants, so that TorchScript can read them.
        self.floor_db, self.centre_db, self.unit_db = LEVEL_FLOOR_DB, LEVEL_CENTRE_DB, LEVEL_UNIT_DB
        shape_dim = latent_dim - self.level_dims
        self.register_buffer("window", torch.hann_window(grain_size))
        features = grain_size + grain_size // 2 + 1
        self.encoder_body = nn.Sequential(nn.Linear(features, hidden), nn.GELU(),
                                          nn.Linear(hidden, hidden), nn.GELU())
        self.mean_head = nn.Linear(hidden, shape_dim)
        self.logvar_head = nn.Linear(hidden, shape_dim)
        self.decoder_body = nn.Sequential(nn.Linear(shape_dim, hidden), nn.GELU(),
                                          nn.Linear(hidden, hidden), nn.GELU(),
                                          nn.Linear(hidden, grain_size))
        self.decoder_linear = nn.Linear(shape_dim, grain_size)

    def encode(self, grains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grains [B, grain_size] -> (mean, log-variance), each [B, latent_dim]; the level
        dimension is exact (log-variance -30)."""
        level = grain_level_db(grains, self.floor_db)
        unit = grains / torch.pow(10.0, level / 20.0).unsqueeze(-1)
        power = torch.fft.rfft(unit * self.window).abs().square()
        hidden = self.encoder_body(torch.cat([unit, 0.1 * torch.log(power + 1e-4)], dim=-1))
        level_code = ((level - self.centre_db) / self.unit_db).unsqueeze(-1)
        mean = torch.cat([level_code, self.mean_head(hidden)], dim=-1)
        logvar = torch.cat([torch.full_like(level_code, -30.0),
                            self.logvar_head(hidden).clamp(-30.0, 20.0)], dim=-1)
        return mean, logvar

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents [B, latent_dim] -> grains [B, grain_size] in [-1, 1]."""
        shape_code = latents[:, self.level_dims:]
        shape = self.decoder_body(shape_code) + self.decoder_linear(shape_code)
        unit = shape / torch.sqrt(shape.square().mean(-1, keepdim=True) + 1e-8)
        level = (latents[:, 0] * self.unit_db + self.centre_db).clamp(min=self.floor_db)
        gain = torch.where(level <= self.floor_db, torch.zeros_like(level),
                           torch.pow(10.0, level / 20.0))
        return (unit * gain.unsqueeze(-1)).clamp(-1.0, 1.0)

    def forward(self, grains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction with a reparameterised sample, plus the posterior (mean, logvar)."""
        mean, logvar = self.encode(grains)
        sample = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.decode(sample), mean, logvar
