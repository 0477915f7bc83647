"""The shipped voice (models/voice.pt): what its card promises, checked on the file itself."""

from pathlib import Path

import librosa
import mido
import numpy as np
import pytest
import soundfile

from synth.cli import DEFAULT_VOICE
from synth.model_file import KIND_VOICE, read_metadata, validate_metadata
from synth.voice_render import render_midi

pytestmark = pytest.mark.skipif(not DEFAULT_VOICE.is_file(), reason="no shipped voice yet")

HOLD_SECONDS = 1.2


def median_f0(audio: np.ndarray, rate: int, start: float, note: int) -> float:
    """Median f0 over the held part; NaN when the take is mostly unvoiced (a dead note)."""
    part = audio[int((start + 0.2) * rate):int((start + HOLD_SECONDS) * rate)]
    f0, voiced, _ = librosa.pyin(part, fmin=librosa.midi_to_hz(note - 12),
                                 fmax=librosa.midi_to_hz(note + 12), sr=rate,
                                 frame_length=2048, resolution=0.01)
    return float(np.nanmedian(f0)) if np.mean(voiced) > 0.5 else float("nan")


def test_shipped_voice_metadata() -> None:
    metadata = read_metadata(DEFAULT_VOICE)
    validate_metadata(metadata, source=str(DEFAULT_VOICE), expected_kind=KIND_VOICE)
    assert metadata["sample_rate"] == 16000 and metadata["voices"] >= 4
    assert metadata["trained_notes"] == [41, 43, 45, 46, 48]


def octave_ratio(voice: Path, low: int, tmp_path: Path, seed: int) -> float:
    midi = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks a second
    track = mido.MidiTrack()
    midi.tracks.append(track)
    hold = int(HOLD_SECONDS * 960)
    for note, wait in ((low, 0), (low + 12, 960)):
        track.append(mido.Message("note_on", note=note, velocity=100, time=wait))
        track.append(mido.Message("note_off", note=note, time=hold))
    midi.save(str(tmp_path / "octave.mid"))
    render_midi(voice, tmp_path / "octave.mid", tmp_path / "octave.wav", seed=seed)
    audio, rate = soundfile.read(tmp_path / "octave.wav", dtype="float32")
    first = median_f0(audio, rate, 0.0, low)
    second = median_f0(audio, rate, HOLD_SECONDS + 1.0, low + 12)
    return second / first


def test_two_notes_an_octave_apart_sound_an_octave_apart(tmp_path: Path) -> None:
    # F2 (trained) then F3, above the range: played at C3 and resampled up 5 semitones.
    # (C2 -> C3 is left out: C2 is resampled from F2, whose dead takes the card reports.)
    low = 41
    # The card reports about 1 take in 10 that never starts (stays near silence); three
    # renders, and every pair where both notes sound must be an octave apart.
    ratios = [octave_ratio(DEFAULT_VOICE, low, tmp_path, seed) for seed in (3, 4, 5)]
    sounding = [ratio for ratio in ratios if np.isfinite(ratio)]
    assert len(sounding) >= 2, f"dead notes in most renders: {ratios}"
    for ratio in sounding:
        assert abs(1200 * np.log2(ratio / 2.0)) < 50, f"ratios {ratios}"


WAVENET_VOICE = DEFAULT_VOICE.with_name("voice-wavenet.pt")


@pytest.mark.skipif(not WAVENET_VOICE.is_file(), reason="no shipped WaveNet voice")
def test_shipped_wavenet_voice_plays_a_midi_note(tmp_path: Path) -> None:
    metadata = read_metadata(WAVENET_VOICE)
    assert metadata["architecture"] == "wavenet" and metadata["trained_notes"] == [
        41, 43, 45, 46, 48]
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=45, velocity=100, time=0),
        mido.Message("note_off", note=45, time=960)]))  # 1 s at 120 bpm
    midi.save(str(tmp_path / "a2.mid"))
    render_midi(WAVENET_VOICE, tmp_path / "a2.mid", tmp_path / "a2.wav", seed=1)
    audio, rate = soundfile.read(tmp_path / "a2.wav", dtype="float32")
    held = audio[int(0.2 * rate):rate]
    assert np.isfinite(audio).all() and np.sqrt(np.mean(held**2)) > 10 ** (-40 / 20)
    assert len(audio) >= 1.6 * rate, "the note, its 0.5 s release and a tail"
    assert np.abs(audio[-int(0.05 * rate):]).max() < 1e-3, "and then it ends"
