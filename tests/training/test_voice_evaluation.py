"""The voice evaluation measures what a listener hears, and can fail."""

import json
import shutil

import librosa
import mido
import numpy as np
import pytest
import soundfile

from synth.contract.conditioning import note_condition
from synth.shipped import DEFAULT_VOICE
from synth.voice.midi_render import render_midi
from training.voice.evaluation import Reference, _reference_takes, _Slots, measure_take
from training.voice.listening import envelope_distance_db, measure_held_note

RATE = 16000
needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None,
                                      reason="fluidsynth is not installed")


def _tone(pitch: float, seconds: float = 1.0, cents: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    frequency = librosa.midi_to_hz(pitch) * 2 ** (cents / 1200)
    partials = sum(np.sin(2 * np.pi * k * frequency * t) / k
                   for k in range(1, 12) if k * frequency < RATE / 2)
    return (0.1 * partials).astype(np.float32)


def _noise(seconds: float = 1.0, level: float = 0.05) -> np.ndarray:
    return (level * np.random.default_rng(0).standard_normal(int(seconds * RATE))).astype(
        np.float32)


@pytest.mark.parametrize("cents", [0.0, 30.0, -100.0])
def test_pitch_error_is_measured_in_cents(cents):
    note = measure_held_note(_tone(45, cents=cents), RATE, 45)
    assert note.cents == pytest.approx(cents, abs=8)
    assert note.played == (abs(cents) <= 50)


def test_pitch_is_searched_over_the_whole_range_so_an_octave_off_is_not_played():
    note = measure_held_note(_tone(57), RATE, 45)  # A3 asked as A2
    assert note.cents == pytest.approx(1200, abs=10)
    assert not note.played and note.in_tune_fraction == 0.0


def test_a_clean_note_is_harmonic_and_noise_is_not():
    clean = measure_held_note(_tone(45), RATE, 45)
    noise = measure_held_note(_noise(), RATE, 45)
    noisy_note = measure_held_note(_tone(45) + _noise(level=0.1), RATE, 45)
    assert clean.harmonicity_db > 30
    assert noise.harmonicity_db < 5 and not noise.played
    # a faint pitch in the noise: pyin may hear it, the harmonicity does not flatter it
    assert noisy_note.harmonicity_db < 10


def test_envelope_distance_ignores_level_and_sees_timbre():
    tone = _tone(45)
    assert envelope_distance_db(3 * tone, tone, RATE) == pytest.approx(0.0, abs=1e-6)
    assert envelope_distance_db(_noise(), tone, RATE) > 10


def test_silence_is_not_played_and_a_fallen_note_is_caught():
    hold = RATE
    silent = measure_take(np.zeros(2 * RATE, np.float32), 45, RATE, hold, hold)
    assert not silent.get("played") and silent["in_tune_fraction"] == 0.0
    fallen = np.concatenate([_tone(45), np.zeros(RATE // 2, np.float32)])
    fallen[RATE // 2:hold] *= 0.1  # 20 dB down halfway through the held part
    assert measure_take(fallen, 45, RATE, hold, hold)["held_drop_db"] == pytest.approx(
        20.0, abs=0.5)


def test_note_condition_holds_the_counter_then_counts_down():
    condition = note_condition(43, 0.8, hold=100, counter_cap=50, tail=20)
    assert condition.shape == (170, 3)
    assert np.all(condition[:100, 2] == 1.0)
    assert np.all(np.diff(condition[100:150, 2]) < 0)
    assert np.all(condition[150:, 1:] == 0.0)
    assert np.all(condition[:, 0] == pytest.approx((43 - 60) / 12))


@needs_fluidsynth
def test_eval_command_reports_voice_and_reference_side_by_side(tiny_voice_model, tmp_path,
                                                               capsys):
    from training.cli import eval_main

    out = tmp_path / "eval"
    assert eval_main(["voice", str(tiny_voice_model), "--out", str(out), "--takes", "2",
                      "--hold", "0.5", "--notes", "E2-Bb2"]) == 0
    printed = capsys.readouterr().out
    assert "reference trained" in printed and "MISSED" in printed
    report = json.loads((out / "voice_report.json").read_text())
    assert report["notes"] == list(range(40, 47)) and report["trained_notes"] == [41, 45]
    synth, bank, reference = (report["takes_by_path"][p] for p in ("synth", "bank",
                                                                   "reference"))
    # two passes up the range through the synth, two voices a note in the bank
    assert len(synth) == 14 and len(bank) == 14 and len(reference) == 7
    assert [t["pitch"] for t in synth] == list(range(40, 47)) * 2
    groups = {t["pitch"]: t["group"] for t in synth}
    assert groups[41] == "trained" and groups[43] == "held_out" and groups[46] == "outside"
    # the reference is the instrument itself: clean, in tune, and what "good" reads as
    assert report["summary"]["reference"]["trained"]["played"] == 1.0
    assert report["summary"]["reference"]["trained"]["median_harmonicity_db"] > 20
    # eight training steps make noise, and the bars say so
    assert report["summary"]["bank"]["trained"]["median_harmonicity_db"] < 10
    assert report["bars"]["synth/trained"]["played >= 95%"] is False
    assert report["velocity_check"]["reference"]["level_db"][0] < \
        report["velocity_check"]["reference"]["level_db"][2]
    # two trained notes, two takes each, one seed: the voice's median over four a velocity
    assert report["velocity_check"]["synth_takes_per_velocity"] == 4
    assert "4 voice takes a velocity" in printed
    assert (out / "voice_report.png").stat().st_size > 20_000


def _render_trained_notes(tmp_path, notes):
    midi = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks a second
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for index, note in enumerate(notes):
        track.append(mido.Message("note_on", note=note, velocity=100, time=0 if index else 480))
        track.append(mido.Message("note_off", note=note, time=int(1.2 * 960)))
        track.append(mido.Message("note_on", note=note, velocity=0, time=int(1.3 * 960)))
    midi.save(str(tmp_path / "notes.mid"))
    render_midi(DEFAULT_VOICE, tmp_path / "notes.mid", tmp_path / "notes.wav", seed=0)
    audio, _ = soundfile.read(tmp_path / "notes.wav", dtype="float32")
    slot = int(2.5 * RATE)
    return [audio[int(0.5 * RATE) + i * slot:][:int(1.2 * RATE)] for i in range(len(notes))]


def _held_notes_sound_like_notes(takes, notes):
    measured = [measure_held_note(take[int(0.15 * RATE):], RATE, note)
                for take, note in zip(takes, notes, strict=True)]
    harmonicity = float(np.median([m.harmonicity_db for m in measured]))
    played = float(np.mean([m.played for m in measured]))
    assert harmonicity >= 10.0, f"held notes are mostly noise: {harmonicity:.1f} dB"
    assert played >= 0.8, f"only {played:.0%} of the held notes have their pitch"


@needs_fluidsynth
def test_the_noise_check_passes_the_reference_instrument(tmp_path):
    notes = [41, 45, 48]
    clips = _reference_takes(Reference(), notes, (100,), _Slots(RATE, 1.2), tmp_path)
    _held_notes_sound_like_notes([clips[(n, 100)][:int(1.2 * RATE)] for n in notes], notes)


@pytest.mark.skipif(not DEFAULT_VOICE.is_file(), reason="no shipped voice")
def test_the_shipped_voice_plays_notes_not_noise_through_the_synth(tmp_path):
    # F2..C3 through the synth's MIDI render, trained and held-out semitones alike (the
    # voice before this one read -1 dB harmonicity and played 10% of its notes).
    notes = [41, 43, 44, 45, 46, 47, 48]
    _held_notes_sound_like_notes(_render_trained_notes(tmp_path, notes), notes)


def test_recordings_can_be_the_reference(tiny_voice_model, tmp_path):
    from training.cli import eval_main

    out = tmp_path / "eval"
    recordings = tiny_voice_model.parent / "notes"  # the voice's own training notes, F2 and A2
    assert eval_main(["voice", str(tiny_voice_model), "--out", str(out), "--takes", "1",
                      "--hold", "0.5", "--notes", "F2-A2", "--reference-dir",
                      str(recordings)]) == 0
    report = json.loads((out / "voice_report.json").read_text())
    assert [t["pitch"] for t in report["takes_by_path"]["reference"]] == [41, 45]
    assert report["summary"]["reference"]["trained"]["played"] == 1.0
    assert report["reference"]["recordings"] == str(recordings)
    assert all("envelope_distance_db" in t for t in report["takes_by_path"]["synth"]
               if t["pitch"] in (41, 45))
