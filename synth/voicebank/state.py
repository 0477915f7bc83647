"""Snapshots of a generator bank, so the voice writer can take back what it wrote ahead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BankState:
    """Everything a bank's next samples depend on: its arrays, position and noise source."""

    arrays: dict[str, np.ndarray]
    position: int
    random: dict[str, Any]


class Rewindable:
    """Snapshot and restore for a bank whose state is ``STATE_ARRAYS``, ``position`` and
    ``_random``."""

    STATE_ARRAYS: tuple[str, ...] = ()
    position: int
    _random: np.random.Generator

    def snapshot(self) -> BankState:
        return BankState({name: getattr(self, name).copy() for name in self.STATE_ARRAYS},
                         self.position, dict(self._random.bit_generator.state))

    def restore(self, state: BankState) -> None:
        """Back to where ``state`` was taken; the snapshot stays usable for another restore."""
        for name, array in state.arrays.items():
            setattr(self, name, array.copy())
        self.position = state.position
        self._random.bit_generator.state = state.random
