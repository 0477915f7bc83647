"""What a voice file's network is told for every sample: the conditioning contract.

Three features, in this order (the file's metadata names them in ``condition_features``):

- pitch: the MIDI note as octaves from middle C, continuous, so notes between the trained
  ones (and bends) can be asked for;
- velocity: the MIDI velocity as 0..1, and 0 once the note has ended;
- counter: the samples until the note ends over the file's ``counter_cap``; a key that is
  down holds it at 1.0, and a released key counts it down to 0.

Played back, a SampleRNN voice reads a held counter as 1 + the file's ``held_offset`` (see
:func:`raise_held_counter`), and a tuned voice file is told each note shifted by its
``pitch_tuning`` (see :func:`tune_pitch`). The encoders work on numpy arrays and torch tensors
alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:  # the audio process must not load torch (about 200 MB and a second)
    import torch

PITCH, VELOCITY, COUNTER = 0, 1, 2
FEATURES = ("pitch_octaves_from_c4", "velocity", "counter_fraction")
MIDDLE_C = 60.0

# A voice with period taps reads the samples one pitch period back (training.voice.samplernn):
# it keeps this many samples of history, and reads the samples at these offsets from there.
PERIOD_HISTORY = 512
PERIOD_TAPS = (-1, 0, 1)
MIDDLE_C_HZ = 261.6255653005986

Values = TypeVar("Values", float, np.ndarray, "torch.Tensor")


def encode_pitch(midi_pitch: Values) -> Values:
    return (midi_pitch - MIDDLE_C) / 12.0


def pitch_period(pitch_feature: Values, sample_rate: int) -> Values:
    """Samples per period of the encoded pitch, kept where the period taps can read them:
    3 samples at least (the taps never reach the sample being predicted), and within
    :data:`PERIOD_HISTORY` (31 Hz at 16 kHz) at most."""
    period = sample_rate / (MIDDLE_C_HZ * 2.0 ** pitch_feature)
    return period.clip(3.0, PERIOD_HISTORY - 2.0)


def encode_velocity(midi_velocity: Values) -> Values:
    return midi_velocity / 127.0


def encode_counter(remaining: Values, counter_cap: int) -> Values:
    return remaining / float(counter_cap)


def note_condition(pitch: float, velocity: float, hold: int, counter_cap: int,
                   tail: int) -> np.ndarray:
    """Conditioning [samples, 3] of a key held ``hold`` samples, then released and followed
    by ``tail`` samples of silence; ``velocity`` is already 0..1."""
    remaining = np.concatenate([np.full(hold, counter_cap), np.arange(counter_cap, 0, -1),
                                np.zeros(tail)])
    condition = np.zeros((len(remaining), len(FEATURES)), np.float32)
    condition[:, PITCH] = encode_pitch(pitch)
    condition[:, VELOCITY] = np.where(remaining > 0, velocity, 0.0)
    condition[:, COUNTER] = encode_counter(remaining, counter_cap)
    return condition


def tune_pitch(condition: np.ndarray,
               tuning: Sequence[tuple[float, float]]) -> np.ndarray:
    """A copy of ``condition`` [..., 3] whose pitch is shifted by the file's tuning: pairs of
    (MIDI note, semitones to add), measured on the trained notes at export; between them the
    shift is interpolated, beyond them the nearest one holds."""
    tuned = np.array(condition, dtype=np.float32)
    notes = np.asarray([note for note, _ in tuning], np.float64)
    shifts = np.asarray([shift for _, shift in tuning], np.float64)
    pitch = tuned[..., PITCH]
    pitch += (np.interp(pitch * 12.0 + MIDDLE_C, notes, shifts) / 12.0).astype(np.float32)
    return tuned


def raise_held_counter(condition: np.ndarray, held_offset: float) -> np.ndarray:
    """A copy of ``condition`` [..., 3] with the counter of held keys raised by the offset."""
    raised = np.array(condition, dtype=np.float32)
    counter = raised[..., COUNTER]
    counter += np.float32(held_offset) * (counter >= 1.0)
    return raised
