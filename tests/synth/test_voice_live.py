"""The voice played live: real JACK MIDI from a real JACK client, the synth's real output.

The granulator is muted (/volume 0), so whatever the keyboard client hears is the voice.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pythonosc.udp_client import SimpleUDPClient

from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import (
    REPO,
    JackServer,
    SynthProcess,
    ask_state,
    free_udp_port,
    tools_missing,
)

jack = pytest.importorskip("jack")
from tests.jack_keyboard import KEYS_PORT, JackKeyboard, keyboard_and_voice  # noqa: E402

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")

SILENT_DB = -100.0
AUDIBLE_DB = -80.0


@pytest.fixture
def playing(tiny_voice_model: Path):
    with keyboard_and_voice(tiny_voice_model, "-v") as playing:
        yield playing


def seconds(keyboard: JackKeyboard, frame: int) -> float:
    return frame / keyboard.rate


def test_jack_midi_note_sounds_and_ends(playing) -> None:
    _, synth, keyboard, _ = playing
    on = keyboard.chord([45], 100, delay_seconds=0.5)
    off = keyboard.release([45], delay_seconds=1.5)
    time.sleep(3.0)
    t_on, t_off = seconds(keyboard, on), seconds(keyboard, off)
    assert keyboard.level_db(t_on - 0.4, t_on) < SILENT_DB
    assert keyboard.level_db(t_on + 0.1, t_off) > AUDIBLE_DB
    # The countdown after note-off is the model's counter cap (0.5 s here), then silence.
    assert keyboard.level_db(t_off + 0.7, t_off + 1.0) < SILENT_DB
    assert synth.interrupt() == 0
    assert any("voice: " in line and "underruns" in line for line in synth.lines)
    assert any("input lands on JACK cycles" in line for line in synth.lines), \
        "the voice reads JACK's cycle clock"


def test_bad_midi_is_ignored_and_a_lost_port_ends_its_notes(playing) -> None:
    server, synth, keyboard, _ = playing
    keyboard.send([0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7])  # sysex (identity request)
    keyboard.send([0xC0, 12])  # program change
    keyboard.send([0xF8])  # clock
    keyboard.send([0x80, 50, 0])  # note-off for a note never played
    keyboard.send([0x90, 60])  # truncated: a note-on without its velocity
    on = keyboard.chord([45, 48], 100, delay_seconds=0.3)
    time.sleep(1.2)
    assert keyboard.level_db(seconds(keyboard, on) + 0.1, seconds(keyboard, on) + 0.8) \
        > AUDIBLE_DB
    # Pull the cable mid-note: the keyboard client (and its port) goes away.
    keyboard.close()
    synth.wait_for("went away: all notes off", 5)
    time.sleep(2.0)
    assert synth.process.poll() is None
    # Back again: a new client with the same port; the synth reconnects and plays.
    keyboard = JackKeyboard(server.name, capture_seconds=10.0)
    playing_again = keyboard
    try:
        deadline = time.monotonic() + 10
        while sum(f"MIDI input '{KEYS_PORT}' connected" in line for line in synth.lines) < 2:
            assert time.monotonic() < deadline, synth.lines[-10:]
            time.sleep(0.1)
        keyboard.listen_to("deepnote:output_1")
        time.sleep(0.5)
        assert keyboard.level_db(0.1, 0.5) < SILENT_DB, "a note stuck after the port left"
        on = keyboard.chord([43], 100, delay_seconds=0.2)
        time.sleep(1.0)
        assert keyboard.level_db(seconds(keyboard, on) + 0.1, seconds(keyboard, on) + 0.7) \
            > AUDIBLE_DB
    finally:
        playing_again.close()
    assert synth.interrupt() == 0


def test_osc_notes_and_panic(playing) -> None:
    _, synth, keyboard, osc = playing
    start = keyboard.frame
    osc.send_message("/note", [45, 110])
    time.sleep(1.0)
    osc.send_message("/panic", [])
    time.sleep(0.5)
    t0 = seconds(keyboard, start)
    assert keyboard.level_db(t0 + 0.3, t0 + 0.9) > AUDIBLE_DB
    assert keyboard.level_db(t0 + 1.2, t0 + 1.5) < SILENT_DB
    osc.send_message("/note", [300, 1])  # out of range: dropped by the listener
    assert synth.interrupt() == 0


def test_composer_improvises_on_the_voice_until_stopped(tiny_voice_model: Path,
                                                        tiny_composer_model: Path) -> None:
    server = JackServer()
    port = free_udp_port()
    synth = SynthProcess(server, DEFAULT_MODEL, port, "--voice", str(tiny_voice_model),
                         "--composer", str(tiny_composer_model))
    keyboard = None
    try:
        keyboard = JackKeyboard(server.name, capture_seconds=20.0)
        synth.wait_for("playing", 120)
        keyboard.listen_to("deepnote:output_1")
        osc = SimpleUDPClient("127.0.0.1", port)
        osc.send_message("/volume", 0.0)
        osc.send_message("/compose/tempo", 120.0)
        osc.send_message("/compose/temperature", 1.5)  # the tiny composer: notes, surely
        time.sleep(0.6)
        start = keyboard.frame
        osc.send_message("/compose/play", [])
        synth.wait_for("composing at 120 bpm, temperature 1.5, 1 line(s)", 5)
        time.sleep(2.5)
        osc.send_message("/compose/stop", [])
        stopped = keyboard.frame
        time.sleep(2.0)
        t0, t_stop = seconds(keyboard, start), seconds(keyboard, stopped)
        assert keyboard.level_db(t0 + 0.2, t_stop) > AUDIBLE_DB, "the composer played"
        # The voice's release is the counter cap (0.5 s); after that, nothing sounds, even
        # where the voice fell behind (it skips ahead, and released notes end on time).
        assert keyboard.level_db(t_stop + 1.0, t_stop + 1.9) < SILENT_DB, "a note stuck"
        assert synth.interrupt() == 0
    finally:
        if keyboard is not None:
            keyboard.close()
        synth.kill()
        server.stop()


def test_killed_voice_worker_restarts_without_stuck_notes(playing) -> None:
    _, synth, keyboard, _ = playing
    synth.wait_for("voice pid", 5)
    pid = int(next(line for line in synth.lines if "voice pid" in line).split()[-1])
    on = keyboard.chord([45, 46, 48], 100, delay_seconds=0.2)  # held, never released
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    synth.wait_for("voice worker", 5)
    killed = keyboard.frame
    time.sleep(4.0)  # restart (loading torch) and the reconnection to the keyboard
    t_kill = seconds(keyboard, killed)
    assert keyboard.level_db(seconds(keyboard, on) + 0.1, t_kill - 0.1) > AUDIBLE_DB
    assert keyboard.level_db(t_kill + 0.2, t_kill + 3.5) < SILENT_DB, "a note stuck"
    assert synth.process.poll() is None
    deadline = time.monotonic() + 20
    while sum(f"MIDI input '{KEYS_PORT}' connected" in line for line in synth.lines) < 2:
        assert time.monotonic() < deadline, synth.lines[-10:]
        time.sleep(0.1)
    on = keyboard.chord([43], 100, delay_seconds=0.2)
    time.sleep(1.0)
    assert keyboard.level_db(seconds(keyboard, on) + 0.1, seconds(keyboard, on) + 0.7) \
        > AUDIBLE_DB
    port = int(next(line for line in synth.lines if "OSC on" in line)
               .split("OSC on ")[1].split()[0].rsplit(":", 1)[1])
    state = ask_state(port)
    assert state["/state/voice/restarts"] == [1] and state["/state/decoder/restarts"] == [0]
    assert state["/state/voice/underruns"][0] >= 0 and state["/state/voice/late_ms"][0] >= 0
    assert synth.interrupt() == 0


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data is not installed")
def test_voice_patch_plays_a_note_on_load(playing, tmp_path: Path) -> None:
    _, synth, keyboard, _ = playing
    port = int(next(line for line in synth.lines if "OSC on" in line)
               .split("OSC on ")[1].split()[0].split(":")[1])
    patch = tmp_path / "5-voice.pd"
    patch.write_text((REPO / "puredata" / "5-voice.pd").read_text()
                     .replace("connect 127.0.0.1 9000", f"connect 127.0.0.1 {port}"))
    start = keyboard.frame
    subprocess.run(["timeout", "2.5", "pd", "-nogui", "-noaudio", "-nomidi", "-open",
                    str(patch)], capture_output=True)
    time.sleep(0.5)
    t0 = seconds(keyboard, start)
    sound = keyboard.first_sound_after(start, -80.0, int(2.0 * keyboard.rate))
    assert sound is not None, "the patch's default note never sounded"
    t_sound = t0 + sound / keyboard.rate
    # 800 ms long, then the 0.5 s countdown: silent again well before 2 s later.
    assert keyboard.level_db(t_sound + 0.1, t_sound + 0.6) > AUDIBLE_DB
    assert keyboard.level_db(t_sound + 1.8, t_sound + 2.4) < SILENT_DB
    assert synth.interrupt() == 0
