"""Sample-by-sample generation with a :class:`SampleRNN`, carrying every state forward.

Generation is a chain of :meth:`VoiceGenerator.step` calls, so a note can be produced in
blocks of any size with the hidden states carried from block to block. This is the plain
reference version (one torch call per layer per sample); it also checks the model: fed the
true previous samples, it reproduces ``SampleRNN.forward`` exactly.
"""

from __future__ import annotations

import torch

from synth.contract.conditioning import PERIOD_TAPS, PITCH
from training.voice.generation import SampledGenerator
from training.voice.quantize import dequantize, quantize
from training.voice.samplernn import SampleRNN, held_counter, period_positions


class VoiceGenerator(SampledGenerator):
    def __init__(self, model: SampleRNN, batch: int = 1, temperature: float = 1.0,
                 seed: int = 0, held_offset: float = 0.0) -> None:
        self.model = model.eval()
        self.temperature = temperature
        self.held_offset = held_offset  # playback's raised held counter (held_counter)
        self._random = torch.Generator().manual_seed(seed)
        silence = int(quantize(torch.zeros(()), model.levels, model.quantization))
        self.history = torch.full((batch, model.context), silence, dtype=torch.long)
        self._top_state = torch.zeros(1, batch, model.dim)
        self._bottom_state = torch.zeros(1, batch, model.dim)
        self._from_top = torch.zeros(batch, model.top_frame // model.bottom_frame, model.dim)
        self._from_bottom = torch.zeros(batch, model.bottom_frame, model.dim)
        self.position = 0

    @torch.no_grad()
    def step_logits(self, condition: torch.Tensor) -> torch.Tensor:
        """Logits [B, levels] for the next sample, given its conditioning [B, 3]."""
        model = self.model
        condition = held_counter(condition, self.held_offset)
        top, bottom = model.top_frame, model.bottom_frame
        if self.position % top == 0:
            frame = dequantize(self.history[:, -top:], model.levels, model.quantization)
            features = model.top_input(torch.cat([frame, condition], dim=-1))
            output, self._top_state = model.top_rnn(features[:, None], self._top_state)
            self._from_top = model.top_upsample(output[:, 0]).reshape(-1, top // bottom,
                                                                     model.dim)
        if self.position % bottom == 0:
            frame = dequantize(self.history[:, -bottom:], model.levels, model.quantization)
            features = model.bottom_input(torch.cat([frame, condition], dim=-1))
            features = features + self._from_top[:, (self.position % top) // bottom]
            output, self._bottom_state = model.bottom_rnn(features[:, None], self._bottom_state)
            self._from_bottom = model.bottom_upsample(output[:, 0]).reshape(-1, bottom,
                                                                           model.dim)
        embedded = model.embedding(self.history[:, -bottom:]).reshape(self.history.shape[0], -1)
        features = model.sample_input(torch.cat([embedded, condition], dim=-1))
        features = features + self._from_bottom[:, self.position % bottom]
        if model.period_taps:
            features = features + self._period_input(condition)
        return model.sample_mlp(features)

    def _period_input(self, condition: torch.Tensor) -> torch.Tensor:
        model = self.model
        now = torch.full((len(condition),), self.history.shape[1])
        base, fraction = period_positions(condition[:, PITCH], model.sample_rate, now)
        rows = torch.arange(len(condition))
        taps = []
        for offset in PERIOD_TAPS:
            earlier = model.embedding(self.history[rows, base + offset])
            later = model.embedding(self.history[rows, base + offset + 1])
            taps.append(earlier + fraction[:, None] * (later - earlier))
        return model.period_input(torch.cat(taps, dim=-1))

    def push(self, classes: torch.Tensor) -> None:
        """Append the chosen (or, teacher-forced, the true) sample classes [B]."""
        self.history = torch.cat([self.history[:, 1:], classes[:, None]], dim=1)
        self.position += 1
