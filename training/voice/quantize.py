"""Sample quantisation for the autoregressive voice: mu-law (default) or linear."""

from __future__ import annotations

import math

import torch

QUANTIZATIONS = ("mu-law", "linear")


def quantize(signal: torch.Tensor, levels: int, kind: str) -> torch.Tensor:
    """Floats in [-1, 1] -> integer classes 0..levels-1."""
    clipped = signal.clamp(-1.0, 1.0)
    if kind == "mu-law":
        mu = levels - 1
        clipped = torch.sign(clipped) * torch.log1p(mu * clipped.abs()) / math.log1p(mu)
    elif kind != "linear":
        raise ValueError(f"unknown quantisation {kind!r} (use one of {QUANTIZATIONS})")
    return ((clipped + 1.0) / 2.0 * (levels - 1) + 0.5).floor().long().clamp(0, levels - 1)


def dequantize(classes: torch.Tensor, levels: int, kind: str) -> torch.Tensor:
    """Integer classes -> floats in [-1, 1] (the inverse of :func:`quantize`)."""
    companded = classes.float() / (levels - 1) * 2.0 - 1.0
    if kind == "mu-law":
        mu = levels - 1
        return torch.sign(companded) * ((1.0 + mu) ** companded.abs() - 1.0) / mu
    return companded
