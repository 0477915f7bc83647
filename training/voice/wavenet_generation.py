"""Sample-by-sample WaveNet generation, two ways that must agree exactly.

:class:`NaiveWaveNetGenerator` recomputes the whole receptive field for every sample (the
reference). :class:`CachedWaveNetGenerator` keeps, per layer, a queue of that layer's
inputs from ``dilation`` samples back (Paine et al. 2016, "Fast Wavenet"), so a sample
costs one step of every layer. Both start from a long silence with zero conditioning and
share the interface of :class:`training.voice.samplernn_generation.VoiceGenerator`.
"""

from __future__ import annotations

import torch

from training.voice.generation import SampledGenerator
from training.voice.quantize import quantize
from training.voice.wavenet import WaveNet


class _Sampling(SampledGenerator):
    def __init__(self, model: WaveNet, temperature: float, seed: int) -> None:
        self.model = model.eval()
        self.temperature = temperature
        self._random = torch.Generator().manual_seed(seed)
        self.silence = int(quantize(torch.zeros(()), model.levels, model.quantization))



class NaiveWaveNetGenerator(_Sampling):
    """Runs the full convolution over the last ``receptive_field`` samples each step."""

    def __init__(self, model: WaveNet, batch: int = 1, temperature: float = 1.0,
                 seed: int = 0) -> None:
        super().__init__(model, temperature, seed)
        field = model.receptive_field
        self.history = torch.full((batch, field), self.silence, dtype=torch.long)
        self.history_condition = torch.zeros(batch, field, model.condition_features)
        self._pending_condition = self.history_condition[:, -1]

    @torch.no_grad()
    def step_logits(self, condition: torch.Tensor) -> torch.Tensor:
        classes = torch.cat([self.history, self.history[:, -1:]], dim=1)  # last: unused
        window = torch.cat([self.history_condition, condition[:, None]], dim=1)
        self._pending_condition = condition
        return self.model(classes, window)[:, -1]

    def push(self, classes: torch.Tensor) -> None:
        self.history = torch.cat([self.history[:, 1:], classes[:, None]], dim=1)
        self.history_condition = torch.cat(
            [self.history_condition[:, 1:], self._pending_condition[:, None]], dim=1)


class CachedWaveNetGenerator(_Sampling):
    """One step of every layer per sample, reading each layer's past from its queue."""

    def __init__(self, model: WaveNet, batch: int = 1, temperature: float = 1.0,
                 seed: int = 0) -> None:
        super().__init__(model, temperature, seed)
        rest = model.rest_inputs(self.silence)
        self.queues = [rest[index].expand(batch, dilation, -1).clone()
                       for index, dilation in enumerate(model.dilations)]
        self.last = torch.full((batch,), self.silence, dtype=torch.long)
        self.position = 0

    @torch.no_grad()
    def step_logits(self, condition: torch.Tensor) -> torch.Tensor:
        model = self.model
        x = model.embedding(self.last)
        skips = torch.zeros(len(x), model.skip_channels)
        for queue, dilation, layer in zip(self.queues, model.dilations, model.layers,
                                          strict=True):
            slot = self.position % dilation
            past = queue[:, slot].clone()
            queue[:, slot] = x
            x, skip = layer(past, x, condition)
            skips = skips + skip
        return model.head(skips)

    def push(self, classes: torch.Tensor) -> None:
        self.last = classes
        self.position += 1
