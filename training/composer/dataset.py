"""A composer dataset: every MIDI file of a folder as a piano roll."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synth.composer.piano_roll import RollError, RollRange, roll_from_midi
from training.grains.dataset import DatasetError

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")


@dataclass
class ComposerDataset:
    roll_range: RollRange
    names: list[str]
    rolls: list[np.ndarray]  # [steps, pitches] int8 each
    skipped: dict[str, str] = field(default_factory=dict)


def build_composer_dataset(folder: Path, roll_range: RollRange) -> ComposerDataset:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such data folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES
                   and not p.name.startswith("."))
    dataset = ComposerDataset(roll_range, [], [])
    for path in files:
        try:
            roll = roll_from_midi(path, roll_range)
        except RollError as error:
            log.warning("skipped %s", error)
            dataset.skipped[path.name] = str(error)
            continue
        dataset.names.append(path.relative_to(folder).as_posix())
        dataset.rolls.append(roll)
    if not dataset.rolls:
        raise DatasetError(f"{folder}: no usable MIDI file ({len(files)} found, "
                           f"{len(dataset.skipped)} skipped)")
    return dataset
