"""Piano rolls for the composer: per time step and pitch, silent / note starts / note held.

A step is a fraction of a quarter note (``steps_per_quarter``, 4 = sixteenth notes), so a
roll keeps the rhythm of a MIDI file and not its tempo. Used by the composer's training
(MIDI files -> rolls) and at run time (composed rolls -> note events and MIDI files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from synth.files import atomic_output

SILENT, ONSET, HELD = 0, 1, 2
STATES = 3


class RollError(Exception):
    """A MIDI file that gives no usable roll; the message names the file and why."""


@dataclass(frozen=True)
class RollRange:
    lowest: int = 36  # C2
    pitches: int = 48  # up to B5
    steps_per_quarter: int = 4

    def fold(self, pitch: int) -> int:
        """The pitch moved by whole octaves into the range."""
        while pitch < self.lowest:
            pitch += 12
        while pitch >= self.lowest + self.pitches:
            pitch -= 12
        return pitch


def roll_from_midi(path: Path, roll_range: RollRange) -> np.ndarray:
    """[steps, pitches] int8 states of every note in every track of a MIDI file."""
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise RollError(f"{path}: unreadable MIDI file ({error})") from error
    ticks_per_step = midi.ticks_per_beat / roll_range.steps_per_quarter
    notes: list[tuple[int, int, int]] = []  # pitch, start step, end step
    for track in midi.tracks:
        now = 0
        started: dict[tuple[int, int], int] = {}
        for message in track:
            now += message.time
            if message.type not in ("note_on", "note_off"):
                continue
            key = (message.channel, message.note)
            if message.type == "note_on" and message.velocity > 0:
                started.setdefault(key, now)
            elif key in started:
                begin = round(started.pop(key) / ticks_per_step)
                end = max(begin + 1, round(now / ticks_per_step))
                notes.append((message.note, begin, end))
    if not notes:
        raise RollError(f"{path}: has no notes")
    roll = np.zeros((max(end for _, _, end in notes), roll_range.pitches), np.int8)
    for pitch, begin, end in sorted(notes, key=lambda note: note[1]):
        column = roll_range.fold(pitch) - roll_range.lowest
        roll[begin + 1:end, column] = HELD
        roll[begin, column] = ONSET
    return roll


def notes_from_roll(roll: np.ndarray, lowest: int) -> list[tuple[int, int, int]]:
    """(pitch, start step, end step) of every note; a HELD with nothing before it starts one."""
    notes = []
    steps, pitches = roll.shape
    for column in range(pitches):
        start = None
        for step in range(steps + 1):
            state = roll[step, column] if step < steps else SILENT
            if start is not None and state != HELD:
                notes.append((lowest + column, start, step))
                start = None
            if state == ONSET or (state == HELD and start is None):
                start = step
    return sorted(notes, key=lambda note: (note[1], note[0]))


def write_roll_midi(roll: np.ndarray, path: Path, roll_range: RollRange, tempo_bpm: float,
                    velocity: int = 80, ticks_per_beat: int = 480) -> None:
    """A one-track MIDI file of the roll at ``tempo_bpm``."""
    ticks_per_step = ticks_per_beat // roll_range.steps_per_quarter
    events = []
    for pitch, start, end in notes_from_roll(roll, roll_range.lowest):
        events.append((end * ticks_per_step, 0, pitch))  # offs before ons at the same tick
        events.append((start * ticks_per_step, 1, pitch))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm))])
    now = 0
    for tick, is_on, pitch in sorted(events):
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=velocity if is_on else 0,
                                  time=tick - now))
        now = tick
    midi = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as partial:
        midi.save(str(partial))


def keep_top_lines(roll: np.ndarray, lines: int) -> np.ndarray:
    """Only the ``lines`` highest sounding pitches of each step (a melody for a one-voice
    instrument); a held note that becomes one of them mid-way starts there."""
    kept = np.zeros_like(roll)
    for step in range(len(roll)):
        sounding = np.flatnonzero(roll[step])
        for column in sounding[::-1][:lines]:
            held_on = step > 0 and kept[step - 1, column] != SILENT
            kept[step, column] = roll[step, column] if held_on else ONSET
    return kept
