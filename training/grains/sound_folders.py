"""Folders of sound unlike sonic-pi's, rendered from a General MIDI soundfont, to train and
judge grain models on: pitched instrument notes with their releases, and drum kits with
noisy sound effects."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from training.voice.note_render import (
    DEFAULT_SOUNDFONT,
    PERCUSSION_CHANNEL,
    RenderPlan,
    render_note_set,
)

# General MIDI programs counted from 1: keyboards, mallets, organs, plucked and bowed strings,
# choir, brass, reeds, flute, a synth lead and a pad.
INSTRUMENT_PROGRAMS = (1, 12, 13, 17, 20, 25, 34, 41, 43, 47, 49, 53, 58, 61, 66, 69, 72, 74,
                       81, 90)
INSTRUMENT_NOTES = (48, 55, 64)  # C3 G3 E4
INSTRUMENT_VELOCITIES = (64, 112)

# Kits on the percussion channel (program counted from 1 selects the kit): Standard, Room,
# Power, Electronic, TR-808, Jazz, Brush, Orchestra.
DRUM_KITS = (1, 9, 17, 25, 26, 33, 41, 49)
# Kick, snare, clap, closed and open hi-hat, low and high tom, crash, ride, tambourine,
# cowbell, maracas.
DRUM_NOTES = (36, 38, 39, 42, 46, 45, 50, 49, 51, 54, 56, 70)
# Sound effects: fret noise, breath, seashore, bird, telephone, helicopter, applause, gunshot.
NOISE_PROGRAMS = (121, 122, 123, 124, 125, 126, 127, 128)
NOISE_NOTES = (48, 60)


class SoundFolder(StrEnum):
    INSTRUMENTS = "instruments"
    PERCUSSION = "percussion"


def render_sound_folder(kind: SoundFolder, out: Path, sample_rate: int = 16000,
                        soundfont: Path = DEFAULT_SOUNDFONT) -> int:
    """Render one folder of WAV files into ``out``; returns how many were written."""
    base = RenderPlan(notes=(), sample_rate=sample_rate, soundfont=soundfont, write_midi=False)
    plans = _instrument_plans(base) if kind is SoundFolder.INSTRUMENTS else _percussion_plans(base)
    return sum(len(render_note_set(plan, out)) for plan in plans)


def _instrument_plans(base: RenderPlan) -> list[RenderPlan]:
    return [replace(base, program=program, notes=INSTRUMENT_NOTES,
                    velocities=INSTRUMENT_VELOCITIES, durations=(2.0,), file_seconds=3.0,
                    lead_silence=0.25)
            for program in INSTRUMENT_PROGRAMS]


def _percussion_plans(base: RenderPlan) -> list[RenderPlan]:
    drums = [replace(base, program=kit, channel=PERCUSSION_CHANNEL, notes=DRUM_NOTES,
                     velocities=(100,), durations=(0.5,), file_seconds=1.5, lead_silence=0.1)
             for kit in DRUM_KITS]
    noises = [replace(base, program=program, notes=NOISE_NOTES, velocities=(100,),
                      durations=(2.0,), file_seconds=3.0, lead_silence=0.25)
              for program in NOISE_PROGRAMS]
    return drums + noises
