"""The streaming generator bank for an exported voice, whichever architecture it has."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

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


def open_voice_bank(scripted: torch.jit.ScriptModule, architecture: str, voices: int,
                    seed: int = 0) -> VoiceBank:
    """The fast numpy bank that runs a voice file's network (its ``architecture``)."""
    if architecture == "wavenet":
        return FastWaveNetBank(scripted, voices, seed=seed)
    return FastVoiceBank(scripted, voices, seed=seed)
