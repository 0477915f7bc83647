"""Intonation: how far each trained note of an exported voice plays from its pitch, and the
shift of the pitch input that brings it back, measured the way the evaluation listens.

The network's pitch input is continuous, so a note that comes out sharp is asked for a little
lower, as a piano tuner would. Only the trained notes are measured, on seeds of their own;
the notes between them are interpolated when played (``synth.contract.conditioning``), and
the evaluation measures every semitone on other seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.contract.conditioning import encode_velocity, note_condition
from synth.contract.model_file import read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.voicebank.open import open_voice_bank
from training.voice.listening import measure_held_note

TUNING_SEED = 1000  # apart from the evaluation's seeds (0, 1, ...)
HOLD_SECONDS = 1.0
SETTLE_SECONDS = 0.2  # the attack is left out, as in the evaluation
MAX_SHIFT = 1.0  # semitones: a note further off than this is not a tuning matter
NEAR_CENTS = 150.0  # takes further off (octave jumps, dead takes) say nothing of intonation


@dataclass(frozen=True)
class NoteTuning:
    note: int
    shift: float  # semitones added to the pitch input
    cents_before: float  # median over takes, untuned
    cents_after: float  # median over takes, with the shift


def measure_cents(model_path: Path, notes: Sequence[int], shifts: Sequence[float],
                  takes: int, seed: int, velocity: int = 100) -> list[float]:
    """Median cents off each note over those of its ``takes`` (bank voices told
    ``note + shift``) that play near it; NaN when none does."""
    model = read_voice_model(model_path)
    rate, cap = model.sample_rate, model.counter_cap
    hold = int(HOLD_SECONDS * rate)
    asked = [(note, shift) for note, shift in zip(notes, shifts, strict=True)
             for _ in range(takes)]
    bank = open_voice_bank(load_module_weights(model_path), model.architecture, len(asked),
                           seed=seed)
    condition = np.stack([note_condition(note + shift, encode_velocity(velocity), hold, cap, 0)
                          for note, shift in asked])
    audio = bank.generate(condition)
    start = int(SETTLE_SECONDS * rate)
    cents = np.array([measure_held_note(audio[index, start:hold], rate, note).cents
                      for index, (note, _) in enumerate(asked)]).reshape(len(notes), takes)
    near = np.where(np.abs(cents) <= NEAR_CENTS, cents, np.nan)
    return [float(np.nanmedian(row)) if np.isfinite(row).any() else float("nan")
            for row in near]


def tune_voice(model_path: Path, takes: int = 6, rounds: int = 2) -> list[NoteTuning]:
    """Per trained note, the pitch-input shift that plays it in tune: each round moves the
    shift by the cents still measured (the input is in semitones, so the slope is about 1),
    on fresh seeds."""
    notes = read_voice_model(model_path).trained_notes
    shifts = [0.0] * len(notes)
    before: list[float] = []
    after: list[float] = []
    for round_number in range(rounds + 1):
        cents = measure_cents(model_path, notes, shifts, takes, TUNING_SEED + round_number)
        if round_number == 0:
            before = cents
        after = cents
        if round_number == rounds:
            break
        shifts = [float(np.clip(shift - (c / 100.0 if np.isfinite(c) else 0.0),
                                -MAX_SHIFT, MAX_SHIFT))
                  for shift, c in zip(shifts, cents, strict=True)]
    return [NoteTuning(note, round(shift, 3), b, a)
            for note, shift, b, a in zip(notes, shifts, before, after, strict=True)]
