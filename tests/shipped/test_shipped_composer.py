"""The shipped composer (models/composer.pt): its metadata, and a composed melody rendered
offline through the shipped voice sounds the pitches it asked for."""

import subprocess
import sys
from pathlib import Path

import librosa
import mido
import numpy as np
import pytest
import soundfile

from synth.contract.model_file import KIND_COMPOSER, read_metadata, validate_metadata
from synth.shipped import DEFAULT_COMPOSER, DEFAULT_VOICE
from tests.jack_harness import REPO

pytestmark = pytest.mark.skipif(not (DEFAULT_COMPOSER.is_file() and DEFAULT_VOICE.is_file()),
                                reason="no shipped composer and voice yet")

TEMPO_BPM = 50.0  # slow: pyin needs a few tenths of a second per note
MEASURED_FROM = 0.12  # seconds after a note starts (the attack)
SHORTEST_MEASURED = 0.35  # seconds


def test_shipped_composer_metadata() -> None:
    metadata = read_metadata(DEFAULT_COMPOSER)
    validate_metadata(metadata, source=str(DEFAULT_COMPOSER), expected_kind=KIND_COMPOSER)
    assert metadata["lowest_pitch"] == 36 and metadata["pitches"] == 48
    evaluation = metadata["held_out_evaluation"]
    assert evaluation["held_out_onset_precision"] > 0.5


def composed_notes(path: Path) -> list[tuple[int, float, float]]:
    """(pitch, start s, end s) of a one-track MIDI file."""
    midi = mido.MidiFile(str(path))
    now, started, notes = 0.0, {}, []
    for message in midi:  # iterating a MidiFile gives times in seconds
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            started[message.note] = now
        elif message.type in ("note_on", "note_off") and message.note in started:
            notes.append((message.note, started.pop(message.note), now))
    return notes


def test_a_composed_melody_through_the_voice_sounds_the_asked_pitches(tmp_path: Path) -> None:
    phrase = tmp_path / "phrase.mid"
    # One line (the highest), an octave down: around the trombone's range (notes outside
    # it are resampled from its nearest note, which keeps the asked pitch).
    subprocess.run([sys.executable, "-m", "synth.compose_cli", "--out", str(phrase),
                    "--bars", "2", "--lines", "1", "--tempo", str(TEMPO_BPM), "--transpose",
                    "-12", "--seed", "1"],
                   check=True, cwd=REPO, capture_output=True, timeout=120)
    render = tmp_path / "phrase.wav"
    subprocess.run([sys.executable, "-m", "synth", "--audio", "offline", "--render",
                    str(render), "--midi-file", str(phrase), "--seed", "2"],
                   check=True, cwd=REPO, capture_output=True, timeout=300)
    audio, rate = soundfile.read(render, dtype="float32")
    measured = []
    for pitch, start, end in composed_notes(phrase):
        if end - start < SHORTEST_MEASURED:
            continue
        part = audio[int((start + MEASURED_FROM) * rate):int(end * rate)]
        assert len(part) >= (SHORTEST_MEASURED - MEASURED_FROM) * rate, "render too short"
        f0, voiced, _ = librosa.pyin(part, fmin=librosa.midi_to_hz(pitch - 12),
                                     fmax=librosa.midi_to_hz(pitch + 12), sr=rate,
                                     frame_length=2048, resolution=0.01)
        cents = (1200 * np.log2(np.nanmedian(f0) / librosa.midi_to_hz(pitch))
                 if np.mean(voiced) > 0.5 else np.nan)
        measured.append((pitch, round(float(cents), 1)))
    assert len(measured) >= 3, measured
    within = [abs(cents) <= 50 for _, cents in measured]  # NaN (a dead note) counts as a miss
    assert np.mean(within) >= 0.7, measured
