import logging
import shutil

import librosa
import mido
import numpy as np
import pytest
import soundfile

from training.cli import train_main
from training.grains.dataset import DatasetError
from training.voice.dataset import (
    END_FRACTION_OF_PEAK,
    Note,
    build_voice_dataset,
    conditioning,
    read_notes,
)
from training.voice.note_render import RenderPlan, parse_notes, render_note_set

needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None,
                                      reason="fluidsynth is not installed")


@pytest.fixture(scope="module")
def thesis_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("thesis")
    assert train_main(["voice-data", "--out", str(folder)]) == 0
    return folder


@needs_fluidsynth
def test_thesis_set_is_rendered_at_the_requested_pitches(thesis_set):
    dataset = build_voice_dataset(thesis_set)
    assert dataset.notes == [41, 43, 45, 46, 48]  # F2 G2 A2 Bb2 C3
    for clip in dataset.clips:
        assert len(clip.audio) == 4 * 16000
        assert np.sqrt(np.mean(clip.audio[:15000] ** 2)) < 1e-3, "1 s of silence first"
        f0, _, _ = librosa.pyin(clip.audio[16000:40000], fmin=50, fmax=400, sr=16000)
        cents = 1200 * np.log2(np.nanmedian(f0) / librosa.midi_to_hz(clip.pitch.max()))
        assert abs(cents) < 25, (clip.name, cents)


@needs_fluidsynth
def test_counter_is_capped_then_counts_down_to_the_sounding_end(thesis_set):
    clip = build_voice_dataset(thesis_set, counter_cap=4000).clips[0]
    sounding = np.flatnonzero(clip.remaining > 0)
    start, end = sounding[0], sounding[-1] + 1
    assert start == 16000  # note-on after 1 s
    assert clip.remaining[start] == 4000 and clip.remaining[end - 1] == 1
    assert np.all(np.diff(clip.remaining[end - 4000:end]) == -1)
    assert 3.0 < end / 16000 < 3.95, "2 s note plus its release, inside the 4 s file"
    assert clip.velocity[start] == pytest.approx(100 / 127)
    assert clip.velocity[end] == 0.0 and clip.remaining[end:].max() == 0


def test_end_is_where_the_envelope_falls_below_0_8_percent_of_peak():
    rate = 16000
    t = np.arange(3 * rate) / rate
    decay = np.exp(-t / 0.3)  # known envelope: falls to 0.8% at t = -0.3 ln 0.008
    audio = (np.sin(2 * np.pi * 220 * t) * decay).astype(np.float32)
    _, _, remaining = conditioning(audio, [Note(0.0, 0.5, 57, 100)], rate, 10 * rate)
    expected = -0.3 * np.log(END_FRACTION_OF_PEAK) + 0.02  # plus the 20 ms tail
    assert np.count_nonzero(remaining) / rate == pytest.approx(expected, abs=0.03)


@needs_fluidsynth
def test_ranges_velocities_and_durations_multiply(tmp_path):
    plan = RenderPlan(notes=parse_notes("C3-D3"), velocities=(60, 110), durations=(0.5, 1.0),
                      file_seconds=3.0)
    stems = render_note_set(plan, tmp_path)
    assert len(stems) == 3 * 2 * 2 and "p057_Cs3_v060_d0.5" in stems
    notes = read_notes(tmp_path / "p057_Cs3_v060_d0.5.mid")
    assert notes == [Note(pytest.approx(1.0), pytest.approx(1.5), 49, 60)]


def _midi(path, notes):
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for message in notes:
        track.append(message)
    midi.save(str(path))


def test_bad_pairs_are_skipped_with_named_reasons(thesis_set, tmp_path, caplog):
    good = next(thesis_set.glob("*.wav")).stem
    for suffix in (".wav", ".mid"):
        shutil.copy(thesis_set / f"{good}{suffix}", tmp_path / f"good{suffix}")
    soundfile.write(tmp_path / "lonely.wav", np.zeros(1600, np.float32), 16000)
    shutil.copy(thesis_set / f"{good}.mid", tmp_path / "orphan.mid")
    soundfile.write(tmp_path / "empty.wav", np.zeros(1600, np.float32), 16000)
    _midi(tmp_path / "empty.mid", [])
    soundfile.write(tmp_path / "chord.wav", np.zeros(16000, np.float32), 16000)
    _midi(tmp_path / "chord.mid", [mido.Message("note_on", note=60, velocity=90),
                                   mido.Message("note_on", note=64, velocity=90, time=10),
                                   mido.Message("note_off", note=60, time=400),
                                   mido.Message("note_off", note=64, time=10)])
    soundfile.write(tmp_path / "fast.wav", np.zeros(44100, np.float32), 44100)
    shutil.copy(thesis_set / f"{good}.mid", tmp_path / "fast.mid")
    with caplog.at_level(logging.WARNING):
        dataset = build_voice_dataset(tmp_path)
    assert [clip.name for clip in dataset.clips] == ["good"]
    assert dataset.skipped == {
        "lonely.wav": "WAV without its MIDI file",
        "orphan.mid": "MIDI without its WAV file",
        "empty.wav": "MIDI file has no notes",
        "chord.wav": "overlapping notes at 0.01 s (the voice is monophonic)",
        "fast.wav": "sample rate 44100 Hz, the dataset is 16000 Hz",
    }
    for name in dataset.skipped:
        assert sum(name in r.getMessage() for r in caplog.records) == 1


def test_nothing_usable_is_one_clear_error(tmp_path):
    soundfile.write(tmp_path / "lonely.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(DatasetError, match="no usable WAV \\+ MIDI pair"):
        build_voice_dataset(tmp_path)


def test_render_usage_errors_exit_2(tmp_path, capsys):
    assert train_main(["voice-data", "--out", str(tmp_path), "--notes", "H9"]) == 2
    assert "cannot read notes" in capsys.readouterr().err
    assert train_main(["voice-data", "--out", str(tmp_path), "--velocities", "300"]) == 2
    assert train_main(["voice-data", "--out", str(tmp_path), "--durations", "3.5"]) == 2
    assert "room for the release" in capsys.readouterr().err
