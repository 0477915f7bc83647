"""Notes -> one block of mixed voice audio: the step the live worker and the offline MIDI
render share.

All voices at trained pitches advance together in one batched bank. A note outside the
trained range is played on a one-voice bank of its own at the nearest trained note and
resampled by linear interpolation to the key's pitch (no anti-alias filter: a fallback for
the edges of the keyboard, not a second instrument).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from synth.contract.conditioning import FEATURES, VELOCITY
from synth.contract.model_file import VoiceModelInfo
from synth.contract.module_weights import ModuleWeights
from synth.voice.notes import DEFAULT_BEND, AllocatorState, BendSettings, VoiceAllocator
from synth.voicebank.open import VoiceBank, open_model_bank
from synth.voicebank.state import BankState


@dataclass(frozen=True)
class MixerState:
    bank: BankState
    allocator: AllocatorState
    transposed: dict[int, tuple[Resampled, ResampledState]]


class VoiceMixer:
    def __init__(self, weights: ModuleWeights, model: VoiceModelInfo,
                 seed: int = 0, bend: BendSettings = DEFAULT_BEND) -> None:
        notes = model.trained_notes
        self._weights = weights
        self._model = model
        self._seed = seed
        self.bank = open_model_bank(weights, model, model.voices, seed=seed)
        self.allocator = VoiceAllocator(model.voices, model.counter_cap, model.frame_size,
                                        (min(notes), max(notes)), bend)
        self._transposed: dict[int, Resampled] = {}

    def real_time_factor(self, seconds: float = 0.05) -> float:
        """Audio seconds generated per compute second with every voice busy: a quick
        measurement before playing (the bank is reset afterwards)."""
        rate = self._model.sample_rate
        samples = max(64, int(seconds * rate))
        condition = np.zeros((len(self.allocator.slots), samples, len(FEATURES)), np.float32)
        condition[:, :, VELOCITY] = 0.8
        self.bank.generate(condition[:, :1])  # the first call may compile (numba)
        started = time.perf_counter()
        self.bank.generate(condition)
        elapsed = time.perf_counter() - started
        self.bank.reset_all()
        return samples / rate / max(elapsed, 1e-9)

    def snapshot(self) -> MixerState:
        """Everything the next blocks depend on (see :meth:`restore`)."""
        return MixerState(self.bank.snapshot(), self.allocator.snapshot(),
                          {voice: (resampled, resampled.snapshot())
                           for voice, resampled in self._transposed.items()})

    def restore(self, state: MixerState) -> None:
        """Back to where ``state`` was taken: the blocks after it will be made again."""
        self.bank.restore(state.bank)
        self.allocator.restore(state.allocator)
        self._transposed = {}
        for voice, (resampled, resampled_state) in state.transposed.items():
            resampled.restore(resampled_state)
            self._transposed[voice] = resampled

    def next_block(self, length: int) -> np.ndarray:
        """The next ``length`` samples of all notes, each scaled by its velocity."""
        busy = self.allocator.sounding > 0
        condition, resets, _ = self.allocator.block(length)
        if not busy and not resets:
            return np.zeros(length, np.float32)
        for voice in resets:
            self.bank.reset(voice)
            self._transposed.pop(voice, None)
            rate = self.allocator.slots[voice].rate
            if rate != 1.0:
                self._transposed[voice] = Resampled(
                    open_model_bank(self._weights, self._model, 1,
                                    seed=self._seed + 1 + voice), rate)
        # The velocity column is the note's velocity while it sounds and 0 otherwise: each
        # voice's gain and its gate at once.
        gains = condition[:, :, 1].copy()
        mix = np.zeros(length, np.float32)
        for voice, resampled in self._transposed.items():
            mix += resampled.render(condition[voice]) * gains[voice]
            gains[voice] = 0.0
        audio = self.bank.generate(condition)
        mix += np.sum(audio * gains, axis=0)
        for voice in [v for v in self._transposed if not self.allocator.slots[v].active]:
            del self._transposed[voice]
        return mix


@dataclass(frozen=True)
class ResampledState:
    bank: BankState
    samples: np.ndarray
    position: float


class Resampled:
    """One voice generated at the model's note and read at ``rate`` times its speed."""

    def __init__(self, bank: VoiceBank, rate: float) -> None:
        self.bank = bank
        self.rate = rate
        self._samples = np.zeros(0, np.float32)
        self._position = 0.0  # fractional read position in _samples

    def snapshot(self) -> ResampledState:
        return ResampledState(self.bank.snapshot(), self._samples.copy(), self._position)

    def restore(self, state: ResampledState) -> None:
        self.bank.restore(state.bank)
        self._samples = state.samples.copy()
        self._position = state.position

    def render(self, condition: np.ndarray) -> np.ndarray:
        """``len(condition)`` output samples; the conditioning is stretched to match."""
        length = len(condition)
        wanted = self._position + np.arange(length) * self.rate
        missing = int(np.floor(wanted[-1])) + 2 - len(self._samples)
        if missing > 0:
            stretched = np.stack([np.interp(np.linspace(0, length - 1, missing),
                                            np.arange(length), condition[:, feature])
                                  for feature in range(condition.shape[1])], axis=1)
            fresh = self.bank.generate(stretched[None].astype(np.float32))[0]
            self._samples = np.concatenate([self._samples, fresh])
        out = np.interp(wanted, np.arange(len(self._samples)), self._samples)
        self._position += length * self.rate
        consumed = int(np.floor(self._position))
        self._samples = self._samples[consumed:]
        self._position -= consumed
        return out.astype(np.float32)
