"""Another voice model in the middle of a show: loaded on a thread while the old voice plays,
switched to when no note sounds, refused with the reason when it cannot play here."""

import shutil
import time

import pytest

from synth.shipped import DEFAULT_MODEL, DEFAULT_VOICE
from synth.voice.notes import DEFAULT_BEND
from synth.voice.switching import VoiceLoader
from tests.jack_harness import ask_state, tools_missing
from tests.jack_keyboard import keyboard_and_voice

pytestmark = pytest.mark.skipif(not DEFAULT_VOICE.is_file(), reason="no shipped voice")


def _finished(loader: VoiceLoader, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while (done := loader.finished()) is None:
        assert time.monotonic() < deadline, "the loader never finished"
        time.sleep(0.05)
    return done


def test_the_loader_loads_on_a_thread_and_refuses_what_cannot_play(tiny_voice_model):
    loader = VoiceLoader(16000, seed=0, bend=DEFAULT_BEND)
    loader.request(str(tiny_voice_model))
    path, mixer, error = _finished(loader)
    assert path == str(tiny_voice_model) and error is None
    assert mixer is not None and len(mixer.allocator.slots) == 4
    loader.request(str(DEFAULT_MODEL))
    path, mixer, error = _finished(loader)
    assert mixer is None and "is a grains model, expected a voice model" in error
    other_rate = VoiceLoader(48000, seed=0, bend=DEFAULT_BEND)
    other_rate.request(str(tiny_voice_model))
    _, mixer, error = _finished(other_rate)
    assert mixer is None and "16000 Hz, but the voice plays at 48000 Hz" in error


@pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")
def test_a_live_voice_switch_waits_for_silence(tmp_path, tiny_voice_model):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(DEFAULT_VOICE, models / "trumpet.pt")
    shutil.copy(tiny_voice_model, models / "tiny.pt")
    shutil.copy(DEFAULT_MODEL, models / "grains.pt")
    with keyboard_and_voice(models / "trumpet.pt", "--models-dir",
                            str(models)) as (_, synth, keyboard, osc):
        port = int(next(line for line in synth.lines if "OSC on" in line)
                   .split("OSC on ")[1].split()[0].rsplit(":", 1)[1])
        state = ask_state(port)
        assert state["/state/model/voice"] == ["trumpet"]
        assert state["/state/models/voice"] == ["tiny", "trumpet"]
        osc.send_message("/model/voice", "grains")
        synth.wait_for("is a grains model, expected a voice model; trumpet keeps playing", 5)
        held = keyboard.chord([45], 100, delay_seconds=0.1)
        time.sleep(0.5)  # the note sounds
        osc.send_message("/model/voice", "tiny")
        time.sleep(3.0)  # loaded meanwhile, but a note is held
        assert not any("voice model" in line and "tiny.pt playing" in line
                       for line in synth.lines)
        assert ask_state(port)["/state/model/voice"] == ["trumpet"]
        rate = keyboard.rate
        assert keyboard.level_db(held / rate + 0.2, held / rate + 2.5) > -80, \
            "the held note went on through the load"
        keyboard.release([45])
        synth.wait_for("tiny.pt playing", 10)
        time.sleep(0.3)
        assert ask_state(port)["/state/model/voice"] == ["tiny"]
        note = keyboard.chord([43], 100, delay_seconds=0.1)
        time.sleep(1.0)
        assert keyboard.level_db(note / rate + 0.1, note / rate + 0.8) > -80, \
            "the new voice plays"
        keyboard.release([43])
