"""The composer, improvising live on the voice (inside the voice worker).

Each roll step is composed when the voice's sample clock reaches it, so the notes fall on
the audio's own time grid, whatever the machine's jitter. The composer hears its whole
composition back (all lines); the voice gets only the ``lines`` highest notes of each step,
moved by whole octaves towards the voice's range.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from synth.composer.model import LoadedComposer
from synth.composer.piano_roll import ONSET, SILENT
from synth.voice.notes import NoteEvent, NoteKind

log = logging.getLogger("deepnote.voice")

DEFAULT_TEMPO_BPM = 90.0
DEFAULT_TEMPERATURE = 0.4  # focal loss flattens the model: 0.4 gives the chorales density
DEFAULT_LINES = 1
COMPOSED_VELOCITY = 90


class ComposeKind(StrEnum):
    """What a composer command does; its value, where it has one."""

    PLAY = "play"  # value: bars, 0 = until stopped
    STOP = "stop"
    TEMPO = "tempo"  # beats per minute
    TEMPERATURE = "temperature"
    LINES = "lines"  # how many of the highest notes the voice plays


@dataclass(frozen=True)
class ComposeCommand:
    kind: ComposeKind
    value: float = 0.0


def octave_shift(top_line_center: float, voice_range: tuple[int, int]) -> int:
    """Whole octaves that bring the composer's melody nearest the voice's middle."""
    voice_center = (voice_range[0] + voice_range[1]) / 2.0
    return 12 * round((voice_center - top_line_center) / 12.0)


class ComposerPlayer:
    def __init__(self, composer: LoadedComposer, rate: int,
                 voice_range: tuple[int, int]) -> None:
        self.composer = composer
        self.rate = rate
        self.tempo = DEFAULT_TEMPO_BPM
        self.temperature = DEFAULT_TEMPERATURE
        self.lines = DEFAULT_LINES
        self.transpose = octave_shift(composer.model.top_line_center,
                                      voice_range)
        self.lowest = composer.roll_range.lowest
        self.playing = False
        self._steps_left: int | None = None
        self._next_step_at = 0.0
        self._current = np.zeros(composer.roll_range.pitches, np.int64)
        self._voiced: set[int] = set()  # roll columns sounding on the voice

    def follow_voice(self, voice_range: tuple[int, int]) -> None:
        """Another voice took over: bring the melody towards its range."""
        self.transpose = octave_shift(self.composer.model.top_line_center, voice_range)

    @property
    def samples_per_step(self) -> float:
        return self.rate * 60.0 / (self.tempo * self.composer.roll_range.steps_per_quarter)

    def handle(self, command: ComposeCommand, now: int) -> list[NoteEvent]:
        """Apply a command at sample ``now``; returns the note events it causes."""
        if command.kind == ComposeKind.PLAY:
            events = self._release_all()
            self.composer.network.reset()
            self._current[:] = SILENT
            self.playing = True
            bars = int(command.value)
            self._steps_left = bars * self.composer.steps_per_bar if bars > 0 else None
            self._next_step_at = float(now)
            log.info("composing at %g bpm, temperature %g, %d line(s)%s", self.tempo,
                     self.temperature, self.lines, f", {bars} bars" if bars > 0 else "")
            return events
        if command.kind == ComposeKind.STOP:
            self.playing = False
            log.info("composer stopped; %d note(s) released", len(self._voiced))
            return self._release_all()
        if command.kind == ComposeKind.TEMPO:
            self.tempo = float(command.value)
        elif command.kind == ComposeKind.TEMPERATURE:
            self.temperature = float(command.value)
        elif command.kind == ComposeKind.LINES:
            self.lines = int(command.value)
        return []

    def due_events(self, now: int) -> list[NoteEvent]:
        """The note events of every step whose time has come by sample ``now``."""
        events: list[NoteEvent] = []
        while self.playing and now >= self._next_step_at:
            # A step already a whole step late (the voice fell behind and jumped ahead) is
            # composed, so the composer hears it, but not played: notes nobody would hear.
            late = now >= self._next_step_at + self.samples_per_step
            events.extend(self._next_step(play=not late))
            self._next_step_at += self.samples_per_step
            if self._steps_left is not None:
                self._steps_left -= 1
                if self._steps_left <= 0:
                    self.playing = False
                    events.extend(self._release_all())
        return events

    def _next_step(self, play: bool) -> list[NoteEvent]:
        """Compose one step; with ``play``, the note events that bring the voice to it."""
        states = self.composer.network.step(self._current, self.temperature)
        self._current = states
        if not play:
            return []
        sounding = np.flatnonzero(states != SILENT)
        kept = set(sounding[::-1][:self.lines].tolist())
        events = [NoteEvent(NoteKind.OFF, self._pitch(column), composed=True)
                  for column in sorted(self._voiced)
                  if column not in kept or states[column] == ONSET]
        events += [NoteEvent(NoteKind.ON, self._pitch(column), COMPOSED_VELOCITY, composed=True)
                   for column in sorted(kept)
                   if column not in self._voiced or states[column] == ONSET]
        self._voiced = kept
        return events

    def _pitch(self, column: int) -> int:
        return int(np.clip(self.lowest + column + self.transpose, 0, 127))

    def _release_all(self) -> list[NoteEvent]:
        """Release whatever the voice still plays of the composer's, including notes the
        player's own bookkeeping no longer counts (a rewind can bring such notes back)."""
        self._voiced = set()
        return [NoteEvent(NoteKind.RELEASE_COMPOSED, composed=True)]
