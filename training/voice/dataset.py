"""Voice datasets: folders of WAV + MIDI pairs turned into audio with per-sample conditioning.

For every sample the voice is told the MIDI note (a continuous pitch), the velocity and the
samples until the note ends. The end is where the note's amplitude envelope falls below
0.8% of its peak (plus a short tail), as in the thesis this voice comes from; the counter is
capped, because a live player does not know a note's length at note-on: the synth holds the
counter at the cap while the key is down and counts down after note-off.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np
import soundfile

from synth.contract.conditioning import encode_velocity
from training.grains.dataset import DatasetError

log = logging.getLogger(__name__)

END_FRACTION_OF_PEAK = 0.008
TAIL_SECONDS = 0.02
ENVELOPE_SECONDS = 0.01
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    stop: float  # seconds (note-off)
    pitch: int
    velocity: int


@dataclass
class NoteClip:
    """One WAV of the dataset with its per-sample conditioning."""

    name: str
    audio: np.ndarray  # float32 [T], mono
    pitch: np.ndarray  # float32 [T], MIDI note number
    velocity: np.ndarray  # float32 [T], 0..1
    remaining: np.ndarray  # int32 [T], samples until the note ends, capped; 0 when silent


@dataclass
class VoiceDataset:
    sample_rate: int
    counter_cap: int
    clips: list[NoteClip]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def notes(self) -> list[int]:
        return sorted({int(clip.pitch.max()) for clip in self.clips})


class UnusableClip(ValueError):
    """A pair that cannot be used; the message is the reason."""


def read_notes(path: Path) -> list[Note]:
    """Notes of a MIDI file in seconds (tempo changes honoured), in start order."""
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise UnusableClip(f"unreadable MIDI ({type(error).__name__})") from error
    notes, sounding, now = [], {}, 0.0
    for message in midi:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding[message.note] = (now, message.velocity)
        elif message.type in ("note_off", "note_on") and message.note in sounding:
            start, velocity = sounding.pop(message.note)
            notes.append(Note(start, now, message.note, velocity))
    notes.extend(Note(start, now, pitch, velocity) for pitch, (start, velocity)
                 in sounding.items())
    return sorted(notes, key=lambda note: note.start)


def amplitude_envelope(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Moving RMS over 10 ms, one value per sample."""
    width = max(1, int(ENVELOPE_SECONDS * sample_rate))
    power = np.convolve(np.square(audio, dtype=np.float64), np.ones(width) / width, "same")
    return np.sqrt(power)


def sounding_end(envelope: np.ndarray, start: int, limit: int, sample_rate: int) -> int:
    """Where the note's envelope last reaches 0.8% of its peak, plus a short tail."""
    segment = envelope[start:limit]
    if not len(segment) or segment.max() == 0.0:
        return start
    loud = np.flatnonzero(segment >= END_FRACTION_OF_PEAK * segment.max())
    return min(limit, start + int(loud[-1]) + 1 + int(TAIL_SECONDS * sample_rate))


def conditioning(audio: np.ndarray, notes: list[Note], sample_rate: int,
                 counter_cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample (pitch, velocity, remaining) for a monophonic list of notes."""
    length = len(audio)
    pitch = np.full(length, float(notes[0].pitch), np.float32)
    velocity = np.zeros(length, np.float32)
    remaining = np.zeros(length, np.int32)
    envelope = amplitude_envelope(audio, sample_rate)
    starts = [min(length, round(note.start * sample_rate)) for note in notes]
    for index, note in enumerate(notes):
        start = starts[index]
        limit = starts[index + 1] if index + 1 < len(notes) else length
        end = sounding_end(envelope, start, limit, sample_rate)
        pitch[start:] = note.pitch
        velocity[start:end] = encode_velocity(note.velocity)
        remaining[start:end] = np.minimum(np.arange(end - start, 0, -1), counter_cap)
    return pitch, velocity, remaining


def find_pairs(folder: Path) -> tuple[list[tuple[Path, Path]], dict[str, str]]:
    """(wav, midi) pairs with the same stem; the unpaired are returned with a reason."""
    wavs = {path.with_suffix(""): path for path in folder.rglob("*")
            if path.suffix.lower() == ".wav"}
    midis = {path.with_suffix(""): path for path in folder.rglob("*")
             if path.suffix.lower() in MIDI_SUFFIXES}
    pairs = [(wavs[stem], midis[stem]) for stem in sorted(wavs.keys() & midis.keys())]
    unpaired = {str(wavs[s].relative_to(folder)): "WAV without its MIDI file"
                for s in wavs.keys() - midis.keys()}
    unpaired |= {str(midis[s].relative_to(folder)): "MIDI without its WAV file"
                 for s in midis.keys() - wavs.keys()}
    return pairs, unpaired


def load_clip(wav: Path, midi: Path, sample_rate: int, counter_cap: int) -> NoteClip:
    try:
        audio, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise UnusableClip("WAV cannot be decoded") from error
    if rate != sample_rate:
        raise UnusableClip(f"sample rate {rate} Hz, the dataset is {sample_rate} Hz")
    notes = read_notes(midi)
    if not notes:
        raise UnusableClip("MIDI file has no notes")
    for earlier, later in itertools.pairwise(notes):
        if later.start < earlier.stop:
            raise UnusableClip(f"overlapping notes at {later.start:.2f} s (the voice is "
                               "monophonic)")
    mono = np.nan_to_num(audio.mean(axis=1)).astype(np.float32)
    pitch, velocity, remaining = conditioning(mono, notes, sample_rate, counter_cap)
    return NoteClip(wav.stem, mono, pitch, velocity, remaining)


def build_voice_dataset(folder: Path, sample_rate: int = 16000,
                        counter_cap: int = 8000) -> VoiceDataset:
    """Every usable WAV + MIDI pair under ``folder``; the rest is named once and skipped."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder")
    pairs, skipped = find_pairs(folder)
    clips = []
    for wav, midi in pairs:
        try:
            clips.append(load_clip(wav, midi, sample_rate, counter_cap))
        except UnusableClip as error:
            skipped[str(wav.relative_to(folder))] = str(error)
    for name, reason in sorted(skipped.items()):
        log.warning("skipping %s: %s", name, reason)
    if not clips:
        raise DatasetError(f"{folder}: no usable WAV + MIDI pair "
                           f"({len(pairs)} pairs, {len(skipped)} skipped)")
    return VoiceDataset(sample_rate, counter_cap, clips, skipped)
