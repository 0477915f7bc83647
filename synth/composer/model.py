"""An exported composer, loaded for composing: seed phrase in, new piano-roll steps out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synth.composer.piano_roll import RollRange
from synth.contract.model_file import ComposerModelInfo, read_composer_model


@dataclass
class LoadedComposer:
    scripted: Any  # torch.jit.ScriptModule
    model: ComposerModelInfo

    @property
    def roll_range(self) -> RollRange:
        return RollRange(self.model.lowest_pitch, self.model.pitches,
                         self.model.steps_per_quarter)

    @property
    def steps_per_bar(self) -> int:
        return self.model.steps_per_bar

    def compose(self, seed_roll: np.ndarray, steps: int, temperature: float,
                seed: int | None = None) -> np.ndarray:
        """[steps, pitches] states continuing ``seed_roll`` [T, pitches] (T may be 0)."""
        import torch

        if seed is not None:
            torch.manual_seed(seed)
        with torch.no_grad():
            composed = self.scripted.compose(torch.from_numpy(seed_roll.astype(np.int64)),
                                             steps, temperature)
        return composed.numpy().astype(np.int8)


def load_composer(path: Path) -> LoadedComposer:
    """Read and check a composer file; ModelFileError says why one is refused."""
    from synth.contract.torchscript import load_torchscript

    model = read_composer_model(path)
    return LoadedComposer(load_torchscript(path), model)
