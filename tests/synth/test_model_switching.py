"""Several grains models in one show: /model/grains NAME switches between the files of a
models folder without stopping the sound; a wrong one is refused and the old one plays on."""

import dataclasses
import shutil
import time

import numpy as np
import pytest
import soundfile

from synth.contract.model_file import ModelFileError, read_grain_model
from synth.control.model_shelf import ModelShelf
from synth.shipped import DEFAULT_MODEL, DEFAULT_VOICE
from tests.jack_harness import (
    JackServer,
    SynthProcess,
    ask_state,
    free_udp_port,
    spectral_distance_db,
    tools_missing,
)
from tests.jack_keyboard import JackKeyboard
from tests.synth.test_synth_offline import synth


@pytest.fixture
def models_dir(tmp_path, tiny_grain_model):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(DEFAULT_MODEL, folder / "stage.pt")
    shutil.copy(tiny_grain_model, folder / "tiny.pt")
    if DEFAULT_VOICE.is_file():
        shutil.copy(DEFAULT_VOICE, folder / "voice.pt")
    (folder / "junk.pt").write_bytes(b"\x00" * 64)
    return folder


def test_the_shelf_lists_grains_models_and_refuses_what_cannot_play(models_dir):
    shelf = ModelShelf(models_dir, read_grain_model(models_dir / "stage.pt"), lambda _: None)
    assert shelf.available() == ["stage", "tiny"]
    assert shelf.playing_name == "stage"
    assert shelf.grains("tiny").source == str(models_dir / "tiny.pt")
    with pytest.raises(ModelFileError, match="no model nothing in"):
        shelf.grains("nothing")
    with pytest.raises(ModelFileError, match="not a TorchScript model file"):
        shelf.grains("junk")
    if DEFAULT_VOICE.is_file():
        with pytest.raises(ModelFileError, match="expected a grains model"):
            shelf.grains("voice")
    shelf.playing = dataclasses.replace(shelf.playing, sample_rate=44100)
    with pytest.raises(ModelFileError, match="sample rate 16000, but the synth plays 44100"):
        shelf.grains("tiny")


def _render(models_dir, tmp_path, name: str, score: str):
    (tmp_path / f"{name}.score").write_text(score)
    out = tmp_path / f"{name}.wav"
    result = synth("--model", str(models_dir / "stage.pt"), "--audio", "offline", "--render",
                   str(out), "--duration", "3.5", "--score", str(tmp_path / f"{name}.score"))
    assert result.returncode == 0, result.stderr
    audio, rate = soundfile.read(out, dtype="float32", always_2d=True)
    return audio[:, 0], rate, result.stderr


def test_a_score_switches_models_and_wrong_ones_change_nothing(models_dir, tmp_path):
    playing = "0.0 /xy 0.3 0.7\n"
    switches = ("1.5 /model/grains nothing\n1.5 /model/grains junk\n1.5 /model/grains voice\n"
                "2.0 /model/grains tiny\n")
    same, rate, _ = _render(models_dir, tmp_path, "same", playing)
    switched, _, log = _render(models_dir, tmp_path, "switched", playing + switches)
    assert "model refused: no model nothing in" in log
    assert "junk.pt: not a TorchScript model file (not a zip archive); stage keeps playing" in log
    assert "grains model tiny playing" in log
    before, after = slice(int(0.2 * rate), int(1.95 * rate)), slice(int(2.3 * rate), None)
    np.testing.assert_array_equal(switched[before], same[before])
    assert spectral_distance_db(switched[after, None], same[after, None]) > 3.0, \
        "the new model sounds"
    assert np.sqrt(np.mean(switched[after] ** 2)) > 1e-3, "and it sounds at all"


@pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")
def test_a_live_switch_keeps_playing_and_state_says_what_is_loaded(models_dir):
    server = JackServer()
    port = free_udp_port()
    process = SynthProcess(server, models_dir / "stage.pt", port, "--no-voice")
    keyboard = None
    try:
        keyboard = JackKeyboard(server.name, capture_seconds=12.0)
        process.wait_for("playing", 120)
        keyboard.listen_to("deepnote:output_1")
        state = ask_state(port)
        assert state["/state/model/grains"] == ["stage"]
        assert state["/state/models/grains"] == ["stage", "tiny"]
        from pythonosc.udp_client import SimpleUDPClient

        osc = SimpleUDPClient("127.0.0.1", port)
        time.sleep(1.0)
        start = keyboard.frame
        osc.send_message("/model/grains", "junk")
        process.wait_for("junk.pt: not a TorchScript model file (not a zip archive); stage "
                         "keeps playing", 5)
        osc.send_message("/model/grains", "tiny")
        process.wait_for("grains model tiny playing", 20)
        time.sleep(1.5)
        end = keyboard.frame
        assert ask_state(port)["/state/model/grains"] == ["tiny"]
        assert keyboard.gaps(start, end, min_frames=int(0.02 * keyboard.rate)) == 0, \
            "the sound never stopped"
        assert keyboard.level_db(start / keyboard.rate, end / keyboard.rate) > -40
        assert process.interrupt() == 0
    finally:
        if keyboard is not None:
            keyboard.close()
        process.kill()
        server.stop()
