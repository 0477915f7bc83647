"""An exported composer, loaded for composing: seed phrase in, new piano-roll steps out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.composer.network import ComposerNetwork
from synth.composer.piano_roll import RollRange
from synth.contract.model_file import ComposerModelInfo, read_composer_model
from synth.contract.module_weights import load_module_weights


@dataclass
class LoadedComposer:
    network: ComposerNetwork
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
        if seed is not None:
            self.network.reseed(seed)
        return self.network.compose(seed_roll, steps, temperature).astype(np.int8)


def load_composer(path: Path, seed: int | None = 0) -> LoadedComposer:
    """Read and check a composer file; ModelFileError says why one is refused."""
    model = read_composer_model(path)
    return LoadedComposer(ComposerNetwork(load_module_weights(path), seed), model)
