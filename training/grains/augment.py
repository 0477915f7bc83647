"""Training-time augmentation of grains: a random equaliser.

A grain folder of one character (drums, say) shows the network few spectral envelopes; the
decoder then describes audio unlike it worse than a linear projection does. Passing part of
each batch through a random smooth EQ (a curve through a few random gains, each with a
standard deviation of ``range_db``, across the spectrum) shows it many more envelopes at no cost to
what it learns of each grain's fine structure. The grain keeps its RMS, so its level (the
level-shape model's measured dimension) is unchanged.
"""

from __future__ import annotations

import torch

EQ_KNOTS = 8
DB_PER_NEPER = 8.686


def random_equaliser(grains: torch.Tensor, fraction: float, range_db: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``grains`` [B, N] with the first ``fraction`` of them through a random EQ each."""
    count = round(len(grains) * fraction)
    if count == 0 or range_db <= 0:
        return grains
    size = grains.shape[-1]
    knots = torch.randn(count, 1, EQ_KNOTS, generator=generator, device=grains.device)
    gains = knots * range_db / DB_PER_NEPER
    curve = torch.nn.functional.interpolate(gains, size=size // 2 + 1, mode="linear",
                                            align_corners=True)[:, 0]
    chosen = grains[:count]
    shaped = torch.fft.irfft(torch.fft.rfft(chosen) * torch.exp(curve), n=size)
    rms = chosen.square().mean(-1, keepdim=True).sqrt()
    shaped_rms = shaped.square().mean(-1, keepdim=True).sqrt()
    shaped = (shaped * rms / (shaped_rms + 1e-12)).clamp(-1.0, 1.0)
    return torch.cat([shaped, grains[count:]])
