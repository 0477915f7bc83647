"""The shipped voice (models/voice.pt): what its card promises, checked on the file itself."""

from pathlib import Path

import librosa
import mido
import numpy as np
import pytest
import soundfile

from synth.contract.model_file import (
    KIND_VOICE,
    read_metadata,
    read_voice_model,
    validate_metadata,
)
from synth.shipped import DEFAULT_VOICE
from synth.voice.midi_render import render_midi

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
    # E2..E4 with a third of the semitones never heard: F2 G#2 B2 D3 F3 G#3 B3 D4
    held_out = {41, 44, 47, 50, 53, 56, 59, 62}
    assert metadata["trained_notes"] == [n for n in range(40, 65) if n not in held_out]
    tuning = read_voice_model(DEFAULT_VOICE).pitch_tuning
    assert [note for note, _ in tuning] == metadata["trained_notes"]
    assert all(abs(shift) < 1.0 for _, shift in tuning), tuning
    assert read_voice_model(DEFAULT_VOICE).post_filter == 1.0, "the pitch post-filter is on"
    assert read_voice_model(DEFAULT_VOICE).low_cut == 0.7, "and its low cut"
    assert read_voice_model(DEFAULT_VOICE).level_averaging == 4, "and its level averaging"


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
    # F2 then F3: two semitones never heard in training, an octave apart.
    low = 41
    # Each held note wanders by up to about 40 cents (the card's figures), so one pair can
    # miss the octave by up to twice that: every render must be nearer the octave than any
    # other interval (100 cents) and their median within 50 cents of it.
    ratios = [octave_ratio(DEFAULT_VOICE, low, tmp_path, seed) for seed in (3, 4, 5)]
    cents = [1200 * np.log2(ratio / 2.0) for ratio in ratios]
    assert all(np.isfinite(cents)), f"a dead note: ratios {ratios}"
    assert max(abs(c) for c in cents) < 100, f"ratios {ratios}"
    assert abs(float(np.median(cents))) < 50, f"ratios {ratios}"


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


def render_held_notes(notes: list[int], hold: float, seed: int,
                      tmp_path: Path) -> tuple[np.ndarray, int]:
    """The notes one after another through the synth's MIDI render, each held ``hold``
    seconds (a multiple of 1/960), then 1 s to the next."""
    midi = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks a second
    midi.tracks.append(mido.MidiTrack())
    for index, note in enumerate(notes):
        midi.tracks[0].append(mido.Message("note_on", note=note, velocity=100,
                                           time=960 if index else 0))
        midi.tracks[0].append(mido.Message("note_off", note=note, time=round(hold * 960)))
    midi.save(str(tmp_path / "notes.mid"))
    render_midi(DEFAULT_VOICE, tmp_path / "notes.mid", tmp_path / "notes.wav", seed=seed)
    audio, rate = soundfile.read(tmp_path / "notes.wav", dtype="float32")
    return audio, rate


def test_held_notes_keep_their_level_and_end_on_time(tmp_path: Path) -> None:
    # Before the held offset, most notes held for a second fell 20 dB into their release
    # (pyin still heard the pitch, so the pitch figures did not show it).
    notes = list(range(41, 49))
    audio, rate = render_held_notes(notes, 1.5, seed=2, tmp_path=tmp_path)
    drops = {}
    for index, note in enumerate(notes):
        start = 2.5 * index
        held = audio[int((start + 0.15) * rate):int((start + 1.45) * rate)]
        levels = 10 * np.log10(np.mean(held.reshape(13, -1) ** 2, axis=1) + 1e-20)
        drops[note] = float(levels.max() - levels.min())
        after = audio[int((start + 1.5 + 0.5 + 0.05) * rate):int((start + 2.5) * rate)]
        assert np.abs(after).max() < 1e-4, f"note {note} still sounds after its countdown"
    faded = [note for note, drop in drops.items() if drop > 9.0]
    assert len(faded) <= 1, f"level drops while held (dB): {drops}"


def test_held_notes_through_the_synth_are_pitched_notes_not_noise(tmp_path: Path) -> None:
    # What a player hears (the synth's MIDI path), measured as the evaluation listens:
    # pyin over 40..1000 Hz, the energy on the harmonics against the energy between them.
    # The voice shipped before period taps read 9.5 dB on the median note, broadband noise
    # about 0 dB; the trumpet it learned from reads 29.
    from training.voice.listening import measure_held_note

    notes = [40, 44, 48, 53, 57, 62, 64]  # E2..E4; G#2, F3 and D4 never heard in training
    audio, rate = render_held_notes(notes, 1.2, seed=7, tmp_path=tmp_path)
    figures = {}
    for index, note in enumerate(notes):
        start = 2.2 * index
        held = audio[int((start + 0.15) * rate):int((start + 1.2) * rate)]
        figures[note] = measure_held_note(held, rate, note)
    report = {note: (f.played, round(f.cents, 1), round(f.harmonicity_db, 1))
              for note, f in figures.items()}
    assert all(f.played for f in figures.values()), f"pitchless notes: {report}"
    # Seeds 7 and 8 read 11..24 dB a note, 19 and 20 dB on the median note; the margins
    # leave room for other draws (another machine's BLAS rounds differently).
    assert all(f.harmonicity_db >= 8.0 for f in figures.values()), f"noisy notes: {report}"
    assert np.median([f.harmonicity_db for f in figures.values()]) >= 15.0, report
