"""The streaming generator bank for an exported voice, whichever architecture it has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from synth.contract.conditioning import tune_pitch
from synth.contract.model_file import VoiceModelInfo
from synth.contract.module_weights import ModuleWeights
from synth.voicebank.postfilter import PostFilteredBank
from synth.voicebank.samplernn import FastVoiceBank
from synth.voicebank.state import BankState
from synth.voicebank.wavenet import FastWaveNetBank


class VoiceBank(Protocol):
    """``voices`` generators that advance together, one block at a time."""

    def reset(self, voice: int) -> None: ...

    def reset_all(self) -> None: ...

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray: ...

    def snapshot(self) -> BankState: ...

    def restore(self, state: BankState) -> None: ...


class TunedBank:
    """A bank told every note shifted by the voice file's pitch tuning."""

    def __init__(self, bank: VoiceBank, tuning: Sequence[tuple[float, float]]) -> None:
        self.bank, self.tuning = bank, tuning

    def reset(self, voice: int) -> None:
        self.bank.reset(voice)

    def reset_all(self) -> None:
        self.bank.reset_all()

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        return self.bank.generate(tune_pitch(condition, self.tuning), temperature)

    def snapshot(self) -> BankState:
        return self.bank.snapshot()

    def restore(self, state: BankState) -> None:
        self.bank.restore(state)


def open_voice_bank(weights: ModuleWeights, architecture: str, voices: int,
                    seed: int = 0, tuning: Sequence[tuple[float, float]] = (),
                    post_filter: float = 0.0, sample_rate: int = 16000,
                    low_cut: float = 0.0, level_averaging: int = 0) -> VoiceBank:
    """The fast numpy bank that runs a voice file's network (its ``architecture``), tuned
    when the file carries a pitch tuning, post-filtered when it carries a post-filter gain
    and its low cut (:mod:`synth.voicebank.postfilter`); the SampleRNN plays its levels
    averaged over ``level_averaging`` classes either side of each drawn one."""
    bank: VoiceBank = (FastWaveNetBank(weights, voices, seed=seed) if architecture == "wavenet"
                       else FastVoiceBank(weights, voices, seed=seed,
                                          level_averaging=level_averaging))
    if tuning:
        bank = TunedBank(bank, tuning)
    if post_filter > 0.0 or low_cut > 0.0:
        bank = PostFilteredBank(bank, voices, sample_rate, post_filter, low_cut)
    return bank


def open_model_bank(weights: ModuleWeights, model: VoiceModelInfo, voices: int,
                    seed: int = 0) -> VoiceBank:
    """The bank a voice file asks for: its architecture, tuning, level averaging and
    post-filter."""
    return open_voice_bank(weights, model.architecture, voices, seed, model.pitch_tuning,
                           model.post_filter, model.sample_rate, model.low_cut,
                           model.level_averaging)
