"""The sampling loop every torch voice generator shares (SampleRNN and WaveNet)."""

from __future__ import annotations

from typing import Any

import torch

from training.core.sampling import gumbel_max
from training.voice.quantize import dequantize


class SampledGenerator:
    """Draws each sample from ``step_logits`` and ``push``es it, carrying the state from
    call to call; subclasses give those two steps."""

    model: Any  # a SampleRNN or a WaveNet: its levels and quantization
    temperature: float
    _random: torch.Generator

    def step_logits(self, condition: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def push(self, classes: torch.Tensor) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def generate(self, condition: torch.Tensor) -> torch.Tensor:
        """Sample classes [B, N] for conditioning [B, N, F], continuing the current state."""
        chosen = []
        for index in range(condition.shape[1]):
            logits = self.step_logits(condition[:, index])
            uniform = torch.rand(logits.shape, generator=self._random)
            classes = gumbel_max(logits, uniform, self.temperature)
            self.push(classes)
            chosen.append(classes)
        return torch.stack(chosen, dim=1)

    def audio(self, classes: torch.Tensor) -> torch.Tensor:
        return dequantize(classes, self.model.levels, self.model.quantization)
