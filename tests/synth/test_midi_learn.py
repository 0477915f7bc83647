"""MIDI learn and maps: a controller's knobs move the OSC controls.

The map itself (learning, 14-bit pairs, scaling, files), then the synth: offline through a
score of /midi/cc lines, a preset keeping the map, and live under JACK with CCs sent by a
real JACK MIDI client.
"""

import json
import math
import re
import time

import numpy as np
import pytest
import soundfile

from synth.control.addresses import ADDRESS_BY_PATH, LEARNABLE_PATHS, InvalidArguments
from synth.control.midi_map import (
    Binding,
    MidiMap,
    MidiMapError,
    read_midi_map,
    scaled_message,
    write_midi_map,
)
from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import (
    JackServer,
    SynthProcess,
    ask_state,
    free_udp_port,
    spectral_centroid_hz,
    tools_missing,
)
from tests.jack_keyboard import KEYS_PORT, JackKeyboard
from tests.synth.test_synth_offline import synth

CC = 0xB0


def test_learn_binds_the_next_controller_moved_on_its_channel():
    midi = MidiMap()
    assert midi.control_change(1, 21, 64) == [], "nothing bound, nothing moves"
    midi.learn("/grain/dur")
    moved = midi.control_change(3, 21, 127)
    assert midi.bindings == [Binding(3, 21, "/grain/dur", 0)]
    assert moved == [(Binding(3, 21, "/grain/dur", 0), 1.0)], "the learning move counts"
    assert midi.control_change(1, 21, 0) == [], "another channel is another controller"
    assert midi.control_change(3, 22, 0) == []
    assert midi.control_change(3, 21, 0) == [(Binding(3, 21, "/grain/dur", 0), 0.0)]


def test_channel_mode_messages_are_never_learned_or_bound():
    midi = MidiMap()
    midi.learn("/volume")
    assert midi.control_change(1, 123, 0) == []  # all notes off, sent by every keyboard
    assert midi.learning == ("/volume", 0)
    with pytest.raises(InvalidArguments, match=r"outside 0..119"):
        ADDRESS_BY_PATH["/midi/bind"].validate((1, 120, "/volume", 0))


def test_fourteen_bit_pairs_refine_the_coarse_value():
    midi = MidiMap()
    midi.bind(Binding(1, 1, "/grain/pos"))
    ((_, coarse),) = midi.control_change(1, 1, 64)
    assert coarse == pytest.approx(64 / 127), "a 7-bit controller spans 0..127"
    ((_, fine),) = midi.control_change(1, 33, 100)
    assert fine == pytest.approx((64 * 128 + 100) / 16383)
    ((_, coarse),) = midi.control_change(1, 1, 127)
    assert coarse == pytest.approx(127 * 128 / 16383), "once 14-bit, the MSB resets the LSB"
    ((_, top),) = midi.control_change(1, 33, 127)
    assert top == 1.0
    # CC 32..63 with no coarse part seen is a controller of its own
    midi.bind(Binding(1, 40, "/grain/jitter"))
    assert midi.control_change(1, 40, 127) == [(Binding(1, 40, "/grain/jitter"), 1.0)]


def test_learning_a_fourteen_bit_knob_binds_its_coarse_number():
    midi = MidiMap()
    midi.learn("/latent/dim", 5)
    midi.control_change(2, 7, 10)
    midi.control_change(2, 39, 64)
    assert midi.bindings == [Binding(2, 7, "/latent/dim", 5)]


def test_scaling_spans_each_address_range_and_knows_ratios():
    pitch = Binding(0, 1, "/grain/pitch")
    assert scaled_message(pitch, 0.0, (0.5, 0.5)) == ("/grain/pitch", (0.125,))
    assert scaled_message(pitch, 1.0, (0.5, 0.5)) == ("/grain/pitch", (8.0,))
    assert scaled_message(pitch, 0.5, (0.5, 0.5))[1][0] == pytest.approx(1.0), \
        "a pitch knob's middle is the model's own pitch (ratios, not steps)"
    assert scaled_message(Binding(0, 1, "/scan/speed"), 0.5, (0.5, 0.5))[1] == (0.0,)
    assert scaled_message(Binding(0, 1, "/trajectory/grains"), 0.5, (0, 0))[1] == (257,)
    assert scaled_message(Binding(0, 1, "/latent/dim", 7), 0.25, (0, 0))[1] == (7, 0.25)
    assert scaled_message(Binding(0, 1, "/xy", 1), 0.9, (0.2, 0.3))[1] == (0.2, 0.9)
    assert scaled_message(Binding(0, 1, "/xy", 0), 0.9, (0.2, 0.3))[1] == (0.9, 0.3)
    for path in LEARNABLE_PATHS:  # every learnable address takes what its knob sends
        for fraction in (0.0, 0.37, 1.0):
            address, values = scaled_message(Binding(0, 1, path), fraction, (0.5, 0.5))
            ADDRESS_BY_PATH[address].validate(values)


def test_binding_a_controller_again_replaces_it_and_forget_drops():
    midi = MidiMap()
    midi.bind(Binding(1, 21, "/grain/dur"))
    midi.bind(Binding(1, 21, "/volume"))
    midi.bind(Binding(1, 22, "/volume"))
    assert [b.path for b in midi.bindings] == ["/volume", "/volume"]
    assert midi.forget("/volume") == 2 and midi.bindings == []
    midi.learn("/xy", 1)
    assert midi.forget() == 0 and midi.learning is None


def test_map_files_round_trip_and_bad_ones_name_the_problem(tmp_path):
    bindings = [Binding(1, 21, "/grain/dur"), Binding(0, 74, "/latent/dim", 3)]
    good = tmp_path / "knobs.json"
    good.write_text(write_midi_map(bindings))
    assert read_midi_map(good) == bindings
    for content, reason in [
        ("{", "not a readable MIDI map"),
        (json.dumps({"bindings": []}), "not a deepnote MIDI map"),
        (json.dumps({"deepnote_midi_map": 1, "bindings": [{"control": 21}]}),
         "binding 1: argument 3 (address) must be one of"),
        (json.dumps({"deepnote_midi_map": 1, "bindings": [
            {"control": 21, "address": "/preset/load"}]}), "must be one of"),
        (json.dumps({"deepnote_midi_map": 1, "bindings": [
            {"control": 200, "address": "/volume"}]}), "= 200 is outside 0..119"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(MidiMapError, match=re.escape(reason)):
            read_midi_map(bad)
    result = synth("--audio", "offline", "--render", str(tmp_path / "x.wav"), "--midi-map",
                   str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"deepnote-synth: error: {bad}: binding 1: argument 2 (control) = 200 is outside "
        "0..119"]
    assert not (tmp_path / "x.wav").exists()


def _level_db(audio: np.ndarray, rate: int, start: float, end: float) -> float:
    part = audio[int(start * rate):int(end * rate), 0].astype(np.float64)
    return float(10 * np.log10(np.mean(part ** 2) + 1e-20))


def _centroid_hz(audio: np.ndarray, rate: int, start: float, end: float) -> float:
    return spectral_centroid_hz(audio[int(start * rate):int(end * rate)], rate)


def test_a_score_of_control_changes_plays_what_the_knobs_are_bound_to(tmp_path):
    """Offline, the shipped model: /midi/learn, then CCs in the score (as a controller
    would send them) turn the volume down and up and sweep the grain pitch by ratios; a
    --midi-map file binds the pitch knob, a 14-bit pair the volume."""
    knobs = tmp_path / "knobs.json"
    knobs.write_text(write_midi_map([Binding(1, 74, "/grain/pitch")]))
    score = tmp_path / "knobs.score"
    score.write_text("\n".join([
        "0.0 /midi/learn /volume",
        "0.0 /midi/cc 7 0",  # learned: volume 0
        "1.0 /midi/cc 7 127",
        "1.0 /midi/cc 39 127",  # its LSB: 14-bit from here on
        "2.5 /midi/cc 74 127",  # the pitch knob from the map, all the way up
        "2.5 /midi/cc 7 0 2",  # the volume knob on another channel: not bound
    ]))
    out = tmp_path / "knobs.wav"
    result = synth("--model", str(DEFAULT_MODEL), "--audio", "offline", "--render", str(out),
                   "--duration", "4", "--score", str(score), "--midi-map", str(knobs))
    assert result.returncode == 0, result.stderr
    assert "MIDI learn: CC 7 on channel 1 now moves /volume" in result.stderr
    audio, rate = soundfile.read(out, dtype="float32", always_2d=True)
    silent, loud = _level_db(audio, rate, 0.3, 0.9), _level_db(audio, rate, 1.5, 2.4)
    assert silent < -90 and loud > -40, (silent, loud)
    assert _level_db(audio, rate, 2.8, 3.4) > loud - 10, "channel 2 moved nothing"
    low, high = _centroid_hz(audio, rate, 1.5, 2.4), _centroid_hz(audio, rate, 2.8, 3.4)
    assert high > 2.5 * low, (low, high)


def test_a_preset_keeps_the_map_and_loading_one_replaces_it(tmp_path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "knobs.json").write_text(json.dumps({"deepnote_preset": 1, "messages": [
        ["/volume", [1.0]], ["/midi/forget", []], ["/midi/bind", [0, 7, "/volume", 0]]]}))
    score = tmp_path / "preset.score"
    score.write_text("0.0 /midi/bind 1 21 /grain/dur\n0.5 /midi/cc 7 0\n"
                     "0.5 /preset/save saved\n")
    out = tmp_path / "preset.wav"
    result = synth("--model", str(DEFAULT_MODEL), "--audio", "offline", "--render", str(out),
                   "--duration", "1", "--score", str(score), "--preset-dir", str(presets),
                   "--preset", "knobs")
    assert result.returncode == 0, result.stderr
    audio, rate = soundfile.read(out, dtype="float32", always_2d=True)
    assert _level_db(audio, rate, 0.8, 0.95) < -90, "the preset's binding moved the volume"
    saved = json.loads((presets / "saved.json").read_text())["messages"]
    assert saved[-3:] == [["/midi/forget", []], ["/midi/bind", [0, 7, "/volume", 0]],
                          ["/midi/bind", [1, 21, "/grain/dur", 0]]]
    assert ["/volume", [0.0]] in saved


def _wait_for_state(port: int, address: str, values: list, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while (state := ask_state(port)).get(address) != values:
        assert time.monotonic() < deadline, (address, state.get(address))
        time.sleep(0.05)


@pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")
def test_knobs_on_a_jack_midi_controller_move_the_controls_live():
    server = JackServer()
    port = free_udp_port()
    synth_process = SynthProcess(server, DEFAULT_MODEL, port, "--no-voice", "--midi-api",
                                 "jack", "--midi-control", KEYS_PORT)
    keyboard = None
    try:
        keyboard = JackKeyboard(server.name, capture_seconds=20.0)
        synth_process.wait_for("playing", 120)
        synth_process.wait_for(f"MIDI controls '{KEYS_PORT}' connected", 20)
        keyboard.listen_to("deepnote:output_1")
        from pythonosc.udp_client import SimpleUDPClient

        osc = SimpleUDPClient("127.0.0.1", port)
        osc.send_message("/midi/learn", "/volume")
        synth_process.wait_for("MIDI learn: move a controller", 5)
        keyboard.send([CC | 4, 7, 0])  # channel 5
        synth_process.wait_for("MIDI learn: CC 7 on channel 5 now moves /volume", 5)
        _wait_for_state(port, "/state/volume", [0.0])
        time.sleep(0.3)  # the volume's smoothing, and the audio under way
        muted = keyboard.frame
        time.sleep(1.0)
        keyboard.send([CC | 4, 7, 127])
        _wait_for_state(port, "/state/volume", [1.0])
        time.sleep(0.3)
        loud = keyboard.frame
        time.sleep(1.0)
        rate = keyboard.rate
        profile = [round(keyboard.level_db(t, t + 0.1)) for t in np.arange(0, loud / rate, 0.1)]
        assert keyboard.level_db(muted / rate, muted / rate + 0.9) < -90, profile
        assert keyboard.level_db(loud / rate, loud / rate + 0.9) > -40, profile
        osc.send_message("/midi/learn", ["/grain/pitch"])
        synth_process.wait_for("MIDI learn: move a controller", 5)
        keyboard.send([CC | 0, 16, 64])  # a 14-bit knob on CC 16/48, channel 1
        keyboard.send([CC | 0, 48, 32])
        time.sleep(0.5)
        state = ask_state(port)
        fraction = (64 * 128 + 32) / 16383
        assert state["/state/grain/pitch"][0] == pytest.approx(0.125 * 64 ** fraction,
                                                               rel=1e-5)
        assert state["/state/volume"] == [1.0]
        assert state["/state/midi/bind"] == [1.0, 16.0, "/grain/pitch", 0.0]
        assert math.isfinite(keyboard.peak)
        assert synth_process.interrupt() == 0
    finally:
        if keyboard is not None:
            keyboard.close()
        synth_process.kill()
        server.stop()
