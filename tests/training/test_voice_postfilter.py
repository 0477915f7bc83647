"""The pitch post-filter: a voice file can carry its gain and low cut; every playback path
(the synth's mixer, the evaluation's bank) puts them after the network; the filter keeps the
harmonics of the asked pitch while taking out what lies between and below them."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from synth.contract.conditioning import MIDDLE_C_HZ, encode_pitch, note_condition
from synth.contract.model_file import METADATA_FILENAME, ModelFileError, read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.voice.mixer import VoiceMixer
from synth.voicebank.open import open_model_bank, open_voice_bank
from synth.voicebank.postfilter import PERIODS, PostFilteredBank
from synth.voicebank.state import BankState
from training.cli import export_main

RATE = 16000


class _Playback:
    """A bank that plays given signals, one column block at a time (the filter under test
    must not care what made them)."""

    def __init__(self, signals: np.ndarray) -> None:
        self.signals = signals.astype(np.float32)
        self.position = 0

    def reset(self, voice: int) -> None:
        pass

    def reset_all(self) -> None:
        pass

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        block = self.signals[:, self.position:self.position + condition.shape[1]]
        self.position += condition.shape[1]
        return block

    def snapshot(self) -> BankState:
        return BankState({}, self.position, {})

    def restore(self, state: BankState) -> None:
        self.position = state.position


def _level_db(signal: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(signal ** 2)))


@pytest.mark.parametrize(("gain", "between"), [(0.5, 0.5), (1.0, 0.5), (1.0, 0.2)])
def test_harmonics_pass_and_what_lies_between_them_is_taken_down(gain, between):
    note = 45  # A2, 110 Hz
    f0 = MIDDLE_C_HZ * 2 ** ((note - 60) / 12)
    t = np.arange(RATE) / RATE
    harmonic = np.sin(2 * np.pi * 3 * f0 * t)
    off = np.sin(2 * np.pi * (3 + between) * f0 * t)
    bank = PostFilteredBank(_Playback(np.stack([harmonic, off])), 2, RATE, gain)
    condition = np.zeros((2, 32, 3), np.float32)
    condition[:, :, 0] = encode_pitch(note)
    out = np.concatenate([bank.generate(condition) for _ in range(RATE // 32)], axis=1)
    settled = slice(RATE // 4, None)
    assert _level_db(out[0, settled]) == pytest.approx(_level_db(harmonic[settled]), abs=0.1)
    weights = gain ** np.arange(PERIODS + 1)
    response = abs(np.sum(weights * np.exp(-2j * np.pi * between * np.arange(PERIODS + 1))))
    expected = 20 * np.log10(max(response / np.sum(weights), 1e-3))
    assert expected < -6
    assert _level_db(out[1, settled]) - _level_db(off[settled]) <= expected + 1.0


@pytest.mark.parametrize("below", [0.25, 0.5])
def test_the_low_cut_keeps_the_fundamental_and_takes_away_what_lies_below_it(below):
    note, ratio = 45, 0.7
    f0 = MIDDLE_C_HZ * 2 ** ((note - 60) / 12)
    t = np.arange(RATE) / RATE
    fundamental, rumble = np.sin(2 * np.pi * f0 * t), np.sin(2 * np.pi * below * f0 * t)
    bank = PostFilteredBank(_Playback(np.stack([fundamental, rumble])), 2, RATE, 0.0, ratio)
    condition = np.zeros((2, 32, 3), np.float32)
    condition[:, :, 0] = encode_pitch(note)
    out = np.concatenate([bank.generate(condition) for _ in range(RATE // 32)], axis=1)
    settled = slice(RATE // 4, None)

    def butterworth_db(ratio_to_cutoff: float) -> float:
        return float(-10 * np.log10(1 + ratio_to_cutoff ** -4))

    kept = _level_db(out[0, settled]) - _level_db(fundamental[settled])
    assert kept == pytest.approx(butterworth_db(1 / ratio), abs=0.3)
    assert kept > -1.0
    cut = _level_db(out[1, settled]) - _level_db(rumble[settled])
    assert cut == pytest.approx(butterworth_db(below / ratio), abs=1.0)
    assert cut < -6


def test_a_file_carries_the_gain_and_the_synth_and_the_evaluation_apply_it(
        tiny_voice_model, tmp_path):
    filtered = tmp_path / "filtered.pt"
    assert export_main([str(tiny_voice_model.parent / "run"), "--out", str(filtered),
                        "--post-filter", "0.7", "--low-cut", "0.6"]) == 0
    model = read_voice_model(filtered)
    assert (model.post_filter, model.low_cut) == (0.7, 0.6)
    assert read_voice_model(tiny_voice_model).post_filter == 0.0
    assert read_voice_model(tiny_voice_model).low_cut == 0.0
    weights = load_module_weights(filtered)
    assert isinstance(open_model_bank(weights, model, 2), PostFilteredBank)
    # The same network and seed, with and without the filter: the filtered mix is the
    # unfiltered one put through the filter, block after block, across a rewind.
    plain = VoiceMixer(load_module_weights(tiny_voice_model), read_voice_model(tiny_voice_model))
    mixer = VoiceMixer(weights, model)
    assert isinstance(mixer.bank, PostFilteredBank)
    for voice_mixer in (plain, mixer):
        voice_mixer.allocator.note_on(model.trained_notes[0], 100)
    raw = np.concatenate([plain.next_block(16) for _ in range(40)])
    heard = [mixer.next_block(16) for _ in range(20)]
    state = mixer.snapshot()
    ahead = np.concatenate([mixer.next_block(16) for _ in range(20)])
    mixer.restore(state)
    again = np.concatenate([mixer.next_block(16) for _ in range(20)])
    np.testing.assert_array_equal(ahead, again)
    heard_all = np.concatenate([*heard, again])
    assert np.abs(raw).max() > 1e-4 and not np.allclose(heard_all, raw, atol=1e-6)
    reference = PostFilteredBank(_Playback(raw[None]), 1, model.sample_rate, 0.7, 0.6)
    condition = note_condition(model.trained_notes[0], 100 / 127, 640, model.counter_cap,
                               0)[None, :640]
    np.testing.assert_allclose(heard_all, reference.generate(condition)[0], atol=1e-5)


def _with_metadata(model: Path, target: Path, **changes: object) -> Path:
    with zipfile.ZipFile(model) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(f"/extra/{METADATA_FILENAME}"):
                data = json.dumps({**json.loads(data), **changes}).encode()
            copy.writestr(item, data)
    return target


@pytest.mark.parametrize(("key", "value", "what"), [
    ("post_filter", 1.5, "a gain"), ("post_filter", -0.1, "a gain"),
    ("post_filter", "loud", "a gain"), ("post_filter", True, "a gain"),
    ("low_cut", 2.0, "a fraction of the fundamental"),
    ("low_cut", None, "a fraction of the fundamental")])
def test_a_file_with_a_wrong_filter_is_refused_in_one_line(tiny_voice_model, tmp_path, key,
                                                          value, what):
    broken = _with_metadata(tiny_voice_model, tmp_path / "broken.pt", **{key: value})
    with pytest.raises(ModelFileError, match=rf"{key} must be {what} in 0\.\.1") as error:
        read_voice_model(broken)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("changes", "message"), [
    ({"level_averaging": -1}, r"level_averaging must be a whole number of classes in 0\.\.8"),
    ({"level_averaging": 9}, r"level_averaging must be a whole number of classes in 0\.\.8"),
    ({"level_averaging": 1.5}, r"level_averaging must be a whole number of classes in 0\.\.8"),
    ({"level_averaging": True}, r"level_averaging must be a whole number of classes in 0\.\.8"),
    ({"level_averaging": 2, "architecture": "wavenet"},
     "level_averaging is for the samplernn voice, not the wavenet")])
def test_a_file_with_a_wrong_level_averaging_is_refused_in_one_line(tiny_voice_model, tmp_path,
                                                                    changes, message):
    broken = _with_metadata(tiny_voice_model, tmp_path / "broken.pt", **changes)
    with pytest.raises(ModelFileError, match=message) as error:
        read_voice_model(broken)
    assert "\n" not in str(error.value)


def test_a_file_carries_its_level_averaging_and_the_synth_plays_it(tiny_voice_model, tmp_path):
    averaged = tmp_path / "averaged.pt"
    assert export_main([str(tiny_voice_model.parent / "run"), "--out", str(averaged),
                        "--level-averaging", "2"]) == 0
    model = read_voice_model(averaged)
    assert model.level_averaging == 2 and read_voice_model(tiny_voice_model).level_averaging == 0
    weights = load_module_weights(averaged)
    condition = note_condition(model.trained_notes[0], 100 / 127, 800, model.counter_cap,
                               0)[None, :800]
    played = open_model_bank(weights, model, 1, seed=3).generate(condition)
    drawn = open_voice_bank(weights, "samplernn", 1, seed=3).generate(condition)
    expected = open_voice_bank(weights, "samplernn", 1, seed=3,
                               level_averaging=2).generate(condition)
    np.testing.assert_array_equal(played, expected)
    assert np.abs(drawn).max() > 1e-4 and not np.array_equal(played, drawn)


def test_post_filter_is_refused_for_a_grains_run(tmp_path: Path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": "grains"}))
    assert export_main([str(run), "--out", str(tmp_path / "g.pt"), "--post-filter",
                        "0.5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "deepnote-export: error: --tune, --post-filter, --low-cut and --level-averaging are "
        "for voice runs")
    assert not (tmp_path / "g.pt").exists()
