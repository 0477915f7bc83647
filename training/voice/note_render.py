"""Note datasets rendered from a General MIDI soundfont with fluidsynth.

All notes go into one MIDI file, one per slot of ``file_seconds``, rendered in one fluidsynth
run and cut back into one WAV + MIDI pair per note. The thesis set's notes are the default:
F2 G2 A2 Bb2 C3, 16 kHz, 4 s files that start with 1 s of silence, on GM program 57 counted
from 1, which is FluidR3's trumpet (the thesis's trombone is 58).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import librosa
import mido
import numpy as np
import soundfile

from training.grains.dataset import DatasetError

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
THESIS_NOTES = ("F2", "G2", "A2", "Bb2", "C3")
TICKS_PER_BEAT = 480
TEMPO = 500_000  # microseconds per beat: 1 beat = 0.5 s
PERCUSSION_CHANNEL = 9  # General MIDI channel 10, counted from 0


@dataclass(frozen=True)
class RenderPlan:
    notes: tuple[int, ...]
    velocities: tuple[int, ...] = (100,)
    durations: tuple[float, ...] = (2.0,)
    program: int = 57  # General MIDI numbering from 1: 57 is the trumpet (58 the trombone)
    sample_rate: int = 16000
    file_seconds: float = 4.0
    lead_silence: float = 1.0
    soundfont: Path = DEFAULT_SOUNDFONT
    channel: int = 0  # 9 is General MIDI's percussion channel, where program picks the kit
    write_midi: bool = True  # a WAV + MIDI pair per note, or the WAV alone


def parse_notes(text: str) -> tuple[int, ...]:
    """``F2,G2,Bb2`` or a range ``F2-C3`` (every semitone) into MIDI note numbers."""
    try:
        if "-" in text and "," not in text:
            low, high = (int(librosa.note_to_midi(part)) for part in text.split("-"))
            return tuple(range(low, high + 1))
        return tuple(int(librosa.note_to_midi(part.strip())) for part in text.split(","))
    except (librosa.ParameterError, ValueError) as error:
        raise DatasetError(f"cannot read notes {text!r} (write F2,G2 or F2-C3)") from error


def note_file_stem(plan: RenderPlan, pitch: int, velocity: int, duration: float) -> str:
    name = librosa.midi_to_note(pitch, unicode=False).replace("#", "s")
    prefix = "kit" if plan.channel == PERCUSSION_CHANNEL else "p"
    return f"{prefix}{plan.program:03d}_{name}_v{velocity:03d}_d{duration:g}"


def check_soundfont(path: Path) -> None:
    """DatasetError (one line) unless ``path`` is a SoundFont 2 file: fluidsynth renders
    silence from anything else without failing."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such soundfont (apt-get install fluid-soundfont-gm)")
    try:
        with open(path, "rb") as file:
            header = file.read(12)
    except OSError as error:
        raise DatasetError(f"{path}: cannot read the soundfont ({error.strerror})") from error
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise DatasetError(f"{path}: not a SoundFont 2 file (.sf2)")


def render_note_set(plan: RenderPlan, out: Path) -> list[str]:
    """Render every (note, velocity, duration) into ``out``; returns the file stems."""
    if shutil.which("fluidsynth") is None:
        raise DatasetError("fluidsynth is not installed (apt-get install fluidsynth)")
    check_soundfont(plan.soundfont)
    longest = max(plan.durations)
    if plan.lead_silence + longest >= plan.file_seconds:
        raise DatasetError("lead silence + note duration must leave room for the release "
                           f"within --file-seconds {plan.file_seconds:g}")
    takes = list(itertools.product(plan.notes, plan.velocities, plan.durations))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        song, audio = Path(scratch) / "all.mid", Path(scratch) / "all.wav"
        _write_song(plan, takes, song)
        result = subprocess.run(
            ["fluidsynth", "-ni", "-g", "0.8", "-F", str(audio), "-r", str(plan.sample_rate),
             str(plan.soundfont), str(song)], capture_output=True, text=True)
        if result.returncode != 0 or not audio.is_file():
            raise DatasetError(f"fluidsynth failed: {result.stderr.strip()[-200:]}")
        rendered, _ = soundfile.read(str(audio), dtype="float32", always_2d=True)
    mono = rendered.mean(axis=1)
    slot = int(plan.file_seconds * plan.sample_rate)
    stems = []
    for index, (pitch, velocity, duration) in enumerate(takes):
        stem = note_file_stem(plan, pitch, velocity, duration)
        clip = np.zeros(slot, np.float32)
        piece = mono[index * slot:(index + 1) * slot]
        clip[:len(piece)] = piece
        soundfile.write(out / f"{stem}.wav", clip, plan.sample_rate, subtype="PCM_16")
        if plan.write_midi:
            _write_single_note(plan, pitch, velocity, duration, out / f"{stem}.mid")
        stems.append(stem)
    return stems


def _seconds_to_ticks(seconds: float) -> int:
    return round(seconds * TICKS_PER_BEAT * 1_000_000 / TEMPO)


def _track(plan: RenderPlan) -> tuple[mido.MidiFile, mido.MidiTrack]:
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=TEMPO, time=0))
    track.append(mido.Message("program_change", channel=plan.channel,
                              program=plan.program - 1, time=0))
    return midi, track


def _write_song(plan: RenderPlan, takes: list[tuple[int, int, float]], path: Path) -> None:
    midi, track = _track(plan)
    cursor = 0
    for index, (pitch, velocity, duration) in enumerate(takes):
        on = _seconds_to_ticks(index * plan.file_seconds + plan.lead_silence)
        off = on + _seconds_to_ticks(duration)
        track.append(mido.Message("note_on", channel=plan.channel, note=pitch,
                                  velocity=velocity, time=on - cursor))
        track.append(mido.Message("note_off", channel=plan.channel, note=pitch, velocity=0,
                                  time=off - on))
        cursor = off
    end = _seconds_to_ticks(len(takes) * plan.file_seconds)
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - cursor)))
    midi.save(str(path))


def _write_single_note(plan: RenderPlan, pitch: int, velocity: int, duration: float,
                       path: Path) -> None:
    midi, track = _track(plan)
    track.append(mido.Message("note_on", channel=plan.channel, note=pitch, velocity=velocity,
                              time=_seconds_to_ticks(plan.lead_silence)))
    track.append(mido.Message("note_off", channel=plan.channel, note=pitch, velocity=0,
                              time=_seconds_to_ticks(duration)))
    midi.save(str(path))
