import librosa
import numpy as np
import pytest

from training.voice.evaluation import held_level_drop, measure_note, note_condition

RATE = 16000


def _note(pitch: int, cents: float, hold: int, release: int) -> np.ndarray:
    """A held harmonic tone at ``cents`` from ``pitch`` that decays over ``release``."""
    length = hold + release + RATE // 2
    t = np.arange(length) / RATE
    frequency = librosa.midi_to_hz(pitch) * 2 ** (cents / 1200)
    tone = sum(np.sin(2 * np.pi * k * frequency * t) / k for k in range(1, 5))
    envelope = np.concatenate([np.ones(hold), np.linspace(1, 0, release), np.zeros(RATE // 2)])
    return (0.3 * tone * envelope).astype(np.float32)


@pytest.mark.parametrize("cents", [0.0, 30.0, -100.0])
def test_pitch_error_is_measured_in_cents(cents):
    hold, release = RATE, RATE // 4
    result = measure_note(_note(41, cents, hold, release), 41, RATE, hold, hold + release)
    assert result["cents"] == pytest.approx(cents, abs=8)
    assert result["voiced_fraction"] > 0.9
    assert abs(result["end_error_seconds"]) < 0.05


def test_a_held_note_that_falls_into_its_release_is_caught():
    hold = RATE
    steady = _note(45, 0.0, hold, RATE // 4)
    fallen = steady.copy()
    fallen[RATE // 2:hold] *= 0.1  # 20 dB down halfway through the held part
    assert held_level_drop(steady[:hold], RATE) < 1.0
    assert held_level_drop(fallen[:hold], RATE) == pytest.approx(20.0, abs=0.5)
    result = measure_note(fallen, 45, RATE, hold, hold + RATE // 4)
    assert result["held_drop_db"] == pytest.approx(20.0, abs=0.5)
    assert abs(result["cents"]) < 10, "pyin still hears the pitch: why the level is checked"


def test_silence_is_unvoiced_and_has_no_pitch():
    result = measure_note(np.zeros(2 * RATE, np.float32), 45, RATE, RATE, RATE)
    assert result["voiced_fraction"] == 0.0 and np.isnan(result["cents"])


def test_note_condition_holds_the_counter_then_counts_down():
    condition = note_condition(43, 0.8, hold=100, cap=50, tail=20)
    assert condition.shape == (170, 3)
    assert np.all(condition[:100, 2] == 1.0)
    assert np.all(np.diff(condition[100:150, 2]) < 0)
    assert np.all(condition[150:, 1:] == 0.0)
    assert np.all(condition[:, 0] == pytest.approx((43 - 60) / 12))


def test_eval_command_reports_every_take_of_every_semitone(tiny_voice_model, tmp_path):
    import json

    from training.cli import eval_main

    assert eval_main(["voice", str(tiny_voice_model), "--out", str(tmp_path), "--takes", "2",
                      "--hold", "0.5"]) == 0
    report = json.loads((tmp_path / "voice_report.json").read_text())
    assert report["takes"] == 2
    assert sorted(n["pitch"] for n in report["notes"]) == sorted(list(range(41, 46)) * 2)
    assert report["trained"]["notes"] == 4 and report["between_trained"]["notes"] == 6
    assert (tmp_path / "voice_report.png").stat().st_size > 10_000
