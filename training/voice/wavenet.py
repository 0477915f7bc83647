"""A conditioned WaveNet (van den Oord et al. 2016) for the MIDI-played voice.

Stacks of dilated causal convolutions (kernel 2, dilations 1, 2, ..., 2**(layers-1) per
stack), gated activations tanh * sigmoid, residual and skip connections, and a 256-way
softmax over mu-law classes. The conditioning (pitch, velocity, samples-until-end counter:
the same three features as the SampleRNN voice, or none for an unconditioned model) is a
per-sample local condition added to every layer's gate inputs.

Shapes, for a training window of ``T`` target samples preceded by ``receptive_field``
samples of context: ``classes`` [B, R + T] (ints), ``condition`` [B, R + T, F] -> logits
[B, T, levels] for ``classes[:, R:]``. Input position ``p`` reads sample ``p`` and predicts
sample ``p + 1``, so its layers see the condition of sample ``p + 1``.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class GatedResidualLayer(nn.Module):
    """One dilated causal layer: the kernel's two taps (``dilation`` samples back, and now)
    plus the condition feed the gates; a 1x1 output splits into residual and skip."""

    def __init__(self, channels: int, skip_channels: int, condition_features: int,
                 dilation: int) -> None:
        super().__init__()
        self.channels, self.skip_channels, self.dilation = channels, skip_channels, dilation
        self.past_tap = nn.Linear(channels, 2 * channels, bias=False)
        self.present_tap = nn.Linear(channels, 2 * channels)
        with warnings.catch_warnings():  # an unconditioned model has a 0-feature tap
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.condition_tap = nn.Linear(condition_features, 2 * channels, bias=False)
        self.output = nn.Linear(channels, channels + skip_channels)

    def forward(self, past: torch.Tensor, present: torch.Tensor,
                condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(next layer's input, skip contribution)."""
        gates = self.past_tap(past) + self.present_tap(present) + self.condition_tap(condition)
        filtered, gate = gates.split(self.channels, dim=-1)
        out = self.output(torch.tanh(filtered) * torch.sigmoid(gate))
        residual, skip = out.split([self.channels, self.skip_channels], dim=-1)
        return present + residual, skip


class WaveNet(nn.Module):
    def __init__(self, *, channels: int = 32, skip_channels: int = 64, stacks: int = 2,
                 layers_per_stack: int = 8, levels: int = 256, condition_features: int = 3,
                 quantization: str = "mu-law") -> None:
        super().__init__()
        self.channels, self.skip_channels = channels, skip_channels
        self.levels, self.quantization = levels, quantization
        self.condition_features = condition_features
        self.dilations = [2**layer for _ in range(stacks) for layer in range(layers_per_stack)]
        self.receptive_field = 1 + sum(self.dilations)
        self.embedding = nn.Embedding(levels, channels)
        self.layers = nn.ModuleList(
            GatedResidualLayer(channels, skip_channels, condition_features, dilation)
            for dilation in self.dilations)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(skip_channels, skip_channels),
                                  nn.ReLU(), nn.Linear(skip_channels, levels))

    def forward(self, classes: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        steps = classes.shape[1] - self.receptive_field
        if steps <= 0:
            raise ValueError(f"need {self.receptive_field} context samples plus targets")
        x = self.embedding(classes[:, :-1])  # [B, R + T - 1, C]; position p predicts p + 1
        future_condition = condition[:, 1:]
        offset = 0
        skips = torch.zeros(classes.shape[0], steps, self.skip_channels,
                            device=classes.device)
        for dilation, layer in zip(self.dilations, self.layers, strict=True):
            offset += dilation
            x, skip = layer(x[:, :-dilation], x[:, dilation:], future_condition[:, offset:])
            skips = skips + skip[:, -steps:]
        return self.head(skips)

    @torch.no_grad()
    def rest_inputs(self, silence: int) -> torch.Tensor:
        """Each layer's input [layers, C] after a long silence with zero conditioning.

        Streaming generation starts from this state, which is exactly what a window of
        silence gives the full convolution.
        """
        x = self.embedding.weight[silence][None]
        zero = torch.zeros(1, self.condition_features)
        inputs = []
        for layer in self.layers:
            inputs.append(x[0])
            x, _ = layer(x, x, zero)
        return torch.stack(inputs)
