"""The WaveNet voice as a scriptable bank with the same streaming interface as the
SampleRNN bank (``generate``, ``reset``, ``reset_all``, ``frame_size``), so the synth plays
either architecture from MIDI without changes."""

# No `from __future__ import annotations`: TorchScript reads the class annotation below.

from typing import TYPE_CHECKING

import torch
from torch import nn

from training.core.sampling import gumbel_max
from training.voice.quantize import dequantize, quantize
from training.voice.wavenet import WaveNet


class ScriptedWaveNetVoice(nn.Module):
    """``voices`` WaveNet generators with per-layer activation queues.

    All layers' queues live in one buffer [layers, voices, longest dilation, C]; layer ``l``
    uses the first ``dilation[l]`` slots as a ring indexed by the shared position.
    """

    dilations: list[int]
    if TYPE_CHECKING:  # registered buffers, typed for mypy (TorchScript reads their values)
        class_values: torch.Tensor
        rest: torch.Tensor
        queues: torch.Tensor
        last: torch.Tensor

    def __init__(self, model: WaveNet, voices: int) -> None:
        super().__init__()
        self.voices = voices
        self.levels = model.levels
        self.channels = model.channels
        self.skip_channels = model.skip_channels
        self.dilations = list(model.dilations)
        self.position = 0
        self.embedding = model.embedding
        self.layers = model.layers
        self.head = model.head
        self.register_buffer("class_values", dequantize(torch.arange(model.levels),
                                                        model.levels, model.quantization))
        self.silence = int(quantize(torch.zeros(()), model.levels, model.quantization))
        self.register_buffer("rest", model.rest_inputs(self.silence))  # [layers, C]
        self.register_buffer("queues", torch.zeros(len(self.dilations), voices,
                                                   max(self.dilations), model.channels))
        self.register_buffer("last", torch.full((voices,), self.silence, dtype=torch.long))
        self.reset_all()

    @torch.jit.export
    def frame_size(self) -> int:
        return 1

    @torch.jit.export
    def reset_all(self) -> None:
        for voice in range(self.voices):
            self.reset(voice)
        self.position = 0

    @torch.jit.export
    def reset(self, voice: int) -> None:
        self.queues[:, voice] = self.rest[:, None, :]
        self.last[voice] = self.silence

    @torch.jit.export
    def generate(self, condition: torch.Tensor, temperature: float) -> torch.Tensor:
        steps = condition.shape[1]
        audio = torch.empty(self.voices, steps)
        for index in range(steps):
            features = condition[:, index]
            x = self.embedding(self.last)
            skips = torch.zeros(self.voices, self.skip_channels)
            for layer_index, layer in enumerate(self.layers):
                slot = self.position % self.dilations[layer_index]
                past = self.queues[layer_index, :, slot].clone()
                self.queues[layer_index, :, slot] = x
                x, skip = layer(past, x, features)
                skips = skips + skip
            logits = self.head(skips)
            chosen = gumbel_max(logits, torch.rand(logits.shape), temperature)
            self.last = chosen
            audio[:, index] = self.class_values[chosen]
            self.position += 1
        return audio

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        return self.generate(condition, 1.0)
