"""A conditioned two-tier SampleRNN (Mehri et al. 2017) for the MIDI-played voice.

Tier 1 reads frames of 16 samples, tier 2 frames of 4, and a sample-level MLP predicts each
sample as one of 256 classes from the last 4 samples and tier 2's output. Every tier is also
told the conditioning at its frame: the pitch as a continuous feature (octaves from middle
C, so notes between the trained ones can be asked for), the velocity, and the normalised
samples-until-end counter. Played back, the counter of a held key is raised past anything
heard in training (:func:`held_counter`, set when the voice is exported).

With ``period_taps`` the sample-level MLP is also told the samples one pitch period back
(the period of the pitch it is asked for, interpolated between samples): a long-term
predictor as in speech codecs. A held note repeats itself every period; told where the last
period was, the network has only the change to predict, and the noise it samples is
repeated period after period, on the harmonics, instead of filling the spectrum between
them.

Shapes, for a training window of ``T`` target samples (a multiple of 16) preceded by
``context`` samples (16, or :data:`PERIOD_HISTORY` with period taps): ``classes``
[B, context + T] (ints), ``condition`` [B, context + T, 3] -> logits [B, T, levels] for
``classes[:, context:]``.
"""

from __future__ import annotations

import torch
from torch import nn

from synth.contract.conditioning import (
    COUNTER,
    FEATURES,
    MIDDLE_C_HZ,
    PERIOD_HISTORY,
    PERIOD_TAPS,
    PITCH,
    encode_counter,
    encode_pitch,
)
from training.voice.quantize import dequantize

CONDITION_FEATURES = len(FEATURES)


def condition_features(pitch: torch.Tensor, velocity: torch.Tensor, remaining: torch.Tensor,
                       counter_cap: int) -> torch.Tensor:
    """Per-sample conditioning [..., 3] from MIDI pitch, velocity 0..1 and samples left."""
    return torch.stack([encode_pitch(pitch), velocity,
                        encode_counter(remaining.float(), counter_cap)], dim=-1)


# counter_feature is an argument because TorchScript compiles no global constants.
def held_counter(condition: torch.Tensor, offset: float,
                 counter_feature: int = COUNTER) -> torch.Tensor:
    """The conditioning with the counter raised by ``offset`` where it sits at its cap (the
    key is down): how a voice is played back.

    At its cap the counter says only "at least cap samples to go", and in training the
    release starts when it has fallen to about 0.9: side by side in feature space. Told 1.0,
    the network gave every held frame a small chance of starting its release, and over a
    second most notes fell 20 dB into a release they never left. Told a little more than it
    ever heard, it holds the note. Training with the raised value instead taught the same
    small chance back (see models/voice.md), so the offset is applied at playback only. The
    file's conditioning contract (a counter of 1.0 while held) stays as it was.
    """
    if offset == 0.0:
        return condition
    counter = condition[..., counter_feature]
    raised = counter + offset * (counter >= 1.0).to(condition.dtype)
    return torch.cat([condition[..., :counter_feature], raised[..., None],
                      condition[..., counter_feature + 1:]], dim=-1)


# The constants are arguments because TorchScript compiles no global constants.
def period_positions(pitch_feature: torch.Tensor, sample_rate: int, now: torch.Tensor,
                     middle_c_hz: float = MIDDLE_C_HZ, history: int = PERIOD_HISTORY,
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Where one pitch period (:func:`synth.contract.conditioning.pitch_period`) before
    ``now`` falls: the earlier of the two samples around it and the fraction towards the
    later one."""
    period = sample_rate / (middle_c_hz * torch.pow(2.0, pitch_feature))
    back = now.to(pitch_feature.dtype) - period.clamp(3.0, history - 2.0)
    base = torch.floor(back)
    return base.long(), back - base


class SampleRNN(nn.Module):
    # Weights a run may start without (--init-from an older run): they start at zero, so
    # the network starts out as the one it was taken from.
    ZERO_START = ("period_input.weight",)

    def __init__(self, *, frame_sizes: tuple[int, int] = (16, 4), dim: int = 256,
                 levels: int = 256, embedding_dim: int = 64,
                 quantization: str = "mu-law", period_taps: bool = False,
                 sample_rate: int = 16000) -> None:
        super().__init__()
        top, bottom = frame_sizes
        if top % bottom:
            raise ValueError("the top frame size must be a multiple of the bottom one")
        self.top_frame, self.bottom_frame = top, bottom
        self.dim, self.levels, self.quantization = dim, levels, quantization
        self.period_taps, self.sample_rate = period_taps, sample_rate
        self.context = max(top, PERIOD_HISTORY) if period_taps else top
        self.top_input = nn.Linear(top + CONDITION_FEATURES, dim)
        self.top_rnn = nn.GRU(dim, dim, batch_first=True)
        self.top_upsample = nn.Linear(dim, dim * (top // bottom))
        self.bottom_input = nn.Linear(bottom + CONDITION_FEATURES, dim)
        self.bottom_rnn = nn.GRU(dim, dim, batch_first=True)
        self.bottom_upsample = nn.Linear(dim, dim * bottom)
        self.embedding = nn.Embedding(levels, embedding_dim)
        self.sample_input = nn.Linear(bottom * embedding_dim + CONDITION_FEATURES, dim)
        self.sample_mlp = nn.Sequential(nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(),
                                        nn.Linear(dim, levels))
        if period_taps:
            self.period_input = nn.Linear(len(PERIOD_TAPS) * embedding_dim, dim, bias=False)
            nn.init.zeros_(self.period_input.weight)

    def forward(self, classes: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        top = self.top_frame
        steps = classes.shape[1] - self.context
        if steps <= 0 or steps % top:
            raise ValueError(f"need {self.context} context samples plus a multiple of {top}")
        sample_in = self._frames_and_samples(classes[:, self.context - top:],
                                             condition[:, self.context - top:])
        if self.period_taps:
            sample_in = sample_in + self._period_input(classes, condition[:, self.context:])
        return self.sample_mlp(sample_in)

    def _period_input(self, classes: torch.Tensor, target_condition: torch.Tensor,
                      ) -> torch.Tensor:
        """The period taps' input to the sample-level MLP [B, T, dim]."""
        batch, total = classes.shape
        steps = total - self.context
        now = torch.arange(self.context, total, device=classes.device).expand(batch, steps)
        base, fraction = period_positions(target_condition[..., PITCH], self.sample_rate, now)
        embedded = self.embedding(classes)  # [B, total, E]
        taps = []
        for offset in PERIOD_TAPS:
            earlier = self._gather(embedded, base + offset)
            later = self._gather(embedded, base + offset + 1)
            taps.append(earlier + fraction[..., None] * (later - earlier))
        return self.period_input(torch.cat(taps, dim=-1))

    @staticmethod
    def _gather(embedded: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        index = positions[..., None].expand(-1, -1, embedded.shape[-1])
        return torch.gather(embedded, 1, index)

    def _frames_and_samples(self, classes: torch.Tensor, condition: torch.Tensor,
                            ) -> torch.Tensor:
        """The tiers' and the last samples' input to the sample-level MLP [B, T, dim], from a
        window with ``top_frame`` samples of context."""
        top, bottom = self.top_frame, self.bottom_frame
        batch, total = classes.shape
        steps = total - top
        signal = dequantize(classes, self.levels, self.quantization)
        target_condition = condition[:, top:]

        top_frames = signal[:, :steps].reshape(batch, steps // top, top)
        top_in = torch.cat([top_frames, target_condition[:, ::top]], dim=-1)
        top_out, _ = self.top_rnn(self.top_input(top_in))
        from_top = self.top_upsample(top_out).reshape(batch, steps // bottom, self.dim)

        bottom_frames = signal[:, top - bottom: top - bottom + steps].reshape(
            batch, steps // bottom, bottom)
        bottom_in = self.bottom_input(
            torch.cat([bottom_frames, target_condition[:, ::bottom]], dim=-1)) + from_top
        bottom_out, _ = self.bottom_rnn(bottom_in)
        from_bottom = self.bottom_upsample(bottom_out).reshape(batch, steps, self.dim)

        previous = classes[:, top - bottom: total - 1].unfold(1, bottom, 1)  # [B, T, bottom]
        embedded = self.embedding(previous).reshape(batch, steps, -1)
        return self.sample_input(torch.cat([embedded, target_condition], dim=-1)) + from_bottom
