"""Pitch tuning: a voice file can carry, per trained note, the shift of the pitch input that
plays it in tune; every playback path (the synth's mixer, the evaluation's bank) applies it."""

import numpy as np
import pytest

from synth.contract.conditioning import PITCH, encode_pitch, note_condition, tune_pitch
from synth.contract.model_file import ModelFileError, read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.voice.mixer import VoiceMixer
from training.cli import export_main
from training.voice import tuning
from training.voice.tuning import tune_voice

TUNING = [(41.0, -0.8), (45.0, -0.2), (48.0, 0.1)]


def _asked(condition: np.ndarray) -> float:
    return float(condition[0, PITCH] * 12.0 + 60.0)


@pytest.mark.parametrize(("note", "told"), [
    (41, 40.2), (45, 44.8), (48, 48.1),  # the measured notes
    (43, 43 - 0.5),  # halfway between -0.8 and -0.2
    (36, 35.2), (60, 60.1),  # beyond them, the nearest one's shift
])
def test_each_note_is_told_its_shift_and_between_them_the_interpolation(note, told):
    condition = note_condition(note, 0.8, 4, 100, 0)
    tuned = tune_pitch(condition, TUNING)
    assert _asked(tuned) == pytest.approx(told, abs=1e-4)
    assert np.array_equal(tuned[:, 1:], condition[:, 1:]), "only the pitch moves"
    assert _asked(condition) == pytest.approx(note), "the caller's array is left as it was"


def test_a_file_without_tuning_is_played_as_asked(tiny_voice_model):
    assert read_voice_model(tiny_voice_model).pitch_tuning == []


def test_export_tune_stores_shifts_that_the_synth_path_applies(tiny_voice_model, tmp_path,
                                                                monkeypatch, capsys):
    monkeypatch.setattr(tuning, "HOLD_SECONDS", 0.4)
    out = tmp_path / "tuned.pt"
    assert export_main([str(tiny_voice_model.parent / "run"), "--out", str(out),
                        "--tune"]) == 0
    printed = capsys.readouterr().out
    model = read_voice_model(out)
    assert [note for note, _ in model.pitch_tuning] == [float(n) for n in model.trained_notes]
    assert all(abs(shift) <= tuning.MAX_SHIFT for _, shift in model.pitch_tuning)
    assert printed.count(" untuned; told ") == len(model.trained_notes)
    # The mixer's bank is told the tuned pitch: same seed, tuned and untuned files differ
    # exactly as their pitch inputs do.
    told = []
    mixer = VoiceMixer(load_module_weights(out), model, seed=0)
    original = mixer.bank.bank.generate  # type: ignore[attr-defined]

    def spy(condition, temperature=1.0):
        told.append(condition[:, :, PITCH].copy())
        return original(condition, temperature)

    mixer.bank.bank.generate = spy  # type: ignore[attr-defined]
    mixer.allocator.note_on(model.trained_notes[0], 100)
    mixer.next_block(64)
    shift = model.pitch_tuning[0][1]
    assert told[0][0, -1] == pytest.approx(encode_pitch(model.trained_notes[0] + shift),
                                           abs=1e-5)


def test_tuning_moves_each_shift_by_the_cents_still_measured(monkeypatch, tiny_voice_model):
    # A stand-in instrument 70 cents sharp on every note, whose pitch follows its input.
    seeds: list[int] = []

    def measure(model_path, notes, shifts, takes, seed, velocity=100):
        seeds.append(seed)
        return [70.0 + 100.0 * shift for shift in shifts]

    monkeypatch.setattr(tuning, "measure_cents", measure)
    rows = tune_voice(tiny_voice_model, rounds=2)
    assert all(row.shift == pytest.approx(-0.7) for row in rows)
    assert all(row.cents_before == 70.0 and row.cents_after == pytest.approx(0.0)
               for row in rows)
    assert len(seeds) == 3 == len(set(seeds)), "each round listens to fresh takes"
    assert min(seeds) >= tuning.TUNING_SEED, "apart from the evaluation's seeds"


@pytest.mark.parametrize(("value", "reason"), [
    ("flat", "pitch_tuning must be"), ([[41, -0.5], [40, 0.1]], "notes must rise")])
def test_a_malformed_tuning_is_refused(value, reason):
    from synth.contract.model_file import _pitch_tuning

    with pytest.raises(ModelFileError, match=reason):
        _pitch_tuning(value, "voice.pt")
