"""Pitch bend and MPE: the wheel moves the voice's continuous pitch input, per channel."""

import time
from pathlib import Path

import librosa
import mido
import numpy as np
import pytest
import soundfile

from synth.contract.conditioning import PITCH, VELOCITY, encode_pitch
from synth.shipped import DEFAULT_VOICE
from synth.voice.midi_render import render_midi
from synth.voice.notes import (
    BendSettings,
    NoteKind,
    VoiceAllocator,
    apply_event,
    event_from_message,
)


def _allocator(bend: BendSettings, voices: int = 2) -> VoiceAllocator:
    return VoiceAllocator(voices=voices, counter_cap=32, frame_size=16, trained_range=(40, 64),
                          bend=bend)


def _play(notes: VoiceAllocator, message: mido.Message) -> None:
    event = event_from_message(message)
    assert event is not None
    apply_event(notes, event)


def test_the_wheel_glides_the_pitch_input_over_one_block_then_holds():
    notes = _allocator(BendSettings(bend_range=2.0))
    voice = notes.note_on(52, 100)
    notes.block(64)
    _play(notes, mido.Message("pitchwheel", pitch=8191))
    gliding, _, _ = notes.block(64)
    pitch = gliding[voice, :, PITCH] * 12 + 60
    assert pitch[0] == pytest.approx(52 + 2 / 64, abs=1e-3)
    assert pitch[-1] == pytest.approx(54, abs=1e-3)
    assert np.all(np.diff(pitch) > 0), "a glide, not a step"
    held, _, _ = notes.block(64)
    assert np.allclose(held[voice, :, PITCH] * 12 + 60, 54, atol=1e-3)
    _play(notes, mido.Message("pitchwheel", pitch=-8192))
    notes.block(64)
    down, _, _ = notes.block(64)
    assert np.allclose(down[voice, :, PITCH] * 12 + 60, 50, atol=1e-3)


def test_mpe_bends_each_note_on_its_own_channel_and_the_master_bends_all():
    notes = _allocator(BendSettings(bend_range=2.0, mpe=True))
    _play(notes, mido.Message("note_on", channel=1, note=48, velocity=100))
    _play(notes, mido.Message("note_on", channel=2, note=55, velocity=100))
    notes.block(32)
    _play(notes, mido.Message("pitchwheel", channel=1, pitch=8192 // 48))  # +1 semitone
    notes.block(32)
    bent, _, _ = notes.block(32)
    assert np.allclose(bent[0, :, PITCH] * 12 + 60, 49, atol=0.01)
    assert np.allclose(bent[1, :, PITCH], encode_pitch(55.0)), "the other note is untouched"
    _play(notes, mido.Message("pitchwheel", channel=0, pitch=-4096))  # zone: -1 semitone
    notes.block(32)
    both, _, _ = notes.block(32)
    assert np.allclose(both[0, :, PITCH] * 12 + 60, 48, atol=0.01)
    assert np.allclose(both[1, :, PITCH] * 12 + 60, 54, atol=1e-3)


def test_note_off_releases_only_the_note_on_its_channel():
    notes = _allocator(BendSettings(mpe=True))
    _play(notes, mido.Message("note_on", channel=1, note=48, velocity=100))
    _play(notes, mido.Message("note_on", channel=2, note=48, velocity=100))
    _play(notes, mido.Message("note_off", channel=2, note=48))
    assert notes.slots[0].key_down and not notes.slots[1].key_down


def test_pressure_raises_the_velocity_input_of_its_channel_only():
    notes = _allocator(BendSettings(mpe=True))
    _play(notes, mido.Message("note_on", channel=1, note=48, velocity=40))
    _play(notes, mido.Message("note_on", channel=2, note=50, velocity=40))
    notes.block(32)
    _play(notes, mido.Message("aftertouch", channel=1, value=127))
    notes.block(32)
    pressed, _, _ = notes.block(32)
    assert np.allclose(pressed[0, :, VELOCITY], 1.0)
    assert np.allclose(pressed[1, :, VELOCITY], 40 / 127)
    _play(notes, mido.Message("aftertouch", channel=1, value=0))
    notes.block(32)
    released, _, _ = notes.block(32)
    assert np.allclose(released[0, :, VELOCITY], 40 / 127), "back to the struck velocity"


def test_slide_moves_the_velocity_input_of_its_channel_either_way():
    notes = _allocator(BendSettings(mpe=True))
    _play(notes, mido.Message("note_on", channel=1, note=48, velocity=64))
    _play(notes, mido.Message("note_on", channel=2, note=50, velocity=64))
    notes.block(32)
    _play(notes, mido.Message("control_change", channel=1, control=74, value=127))
    _play(notes, mido.Message("control_change", channel=2, control=74, value=0))
    notes.block(32)
    slid, _, _ = notes.block(32)
    assert np.allclose(slid[0, :, VELOCITY], 64 / 127 + 0.25, atol=1e-3), "brighter"
    assert np.allclose(slid[1, :, VELOCITY], 64 / 127 - 0.25, atol=1e-3), "darker"
    _play(notes, mido.Message("control_change", channel=1, control=74, value=64))
    notes.block(32)
    centred, _, _ = notes.block(32)
    assert np.allclose(centred[0, :, VELOCITY], 64 / 127 + 0.25 / 127, atol=1e-3)


def _rpn(notes: VoiceAllocator, channel: int, parameter: int, value: int) -> None:
    for control, data in ((101, 0), (100, parameter), (6, value)):
        _play(notes, mido.Message("control_change", channel=channel, control=control,
                                  value=data))


def test_the_mpe_configuration_message_turns_mpe_on_and_sets_its_zone(caplog):
    notes = _allocator(BendSettings())  # started without --mpe
    with caplog.at_level("INFO", logger="deepnote.voice"):
        _rpn(notes, channel=0, parameter=6, value=3)
    assert notes.bend_settings.mpe and notes.bend_settings.member_channels == 3
    assert "MPE lower zone on, 3 member channels" in caplog.text
    _play(notes, mido.Message("note_on", channel=2, note=48, velocity=100))
    _play(notes, mido.Message("note_on", channel=5, note=52, velocity=100))  # not a member
    _play(notes, mido.Message("pitchwheel", channel=2, pitch=8192 // 48))  # +1 of 48
    _play(notes, mido.Message("pitchwheel", channel=5, pitch=8191))  # a non-member's own wheel
    notes.block(32)
    bent, _, _ = notes.block(32)
    assert np.allclose(bent[0, :, PITCH] * 12 + 60, 49, atol=0.01)
    assert np.allclose(bent[1, :, PITCH], encode_pitch(52.0)), "only the zone's wheels count"
    _rpn(notes, channel=2, parameter=0, value=12)  # members' bend sensitivity
    _rpn(notes, channel=0, parameter=0, value=7)  # the master's
    assert (notes.bend_settings.member_range, notes.bend_settings.bend_range) == (12.0, 7.0)
    _rpn(notes, channel=0, parameter=6, value=0)
    assert not notes.bend_settings.mpe


def test_a_rewind_restores_what_the_configuration_message_changed():
    notes = _allocator(BendSettings())
    before = notes.snapshot()
    _rpn(notes, channel=0, parameter=6, value=15)
    _play(notes, mido.Message("control_change", channel=3, control=74, value=0))
    notes.restore(before)
    assert not notes.bend_settings.mpe and notes.slides[3] == 0.5


def test_a_bend_past_the_trained_range_stops_at_its_edge():
    notes = _allocator(BendSettings(bend_range=12.0))
    voice = notes.note_on(60, 100)
    _play(notes, mido.Message("pitchwheel", pitch=8191))
    notes.block(16)
    edge, _, _ = notes.block(16)
    assert np.allclose(edge[voice, :, PITCH], encode_pitch(64.0))


def test_wheel_and_pressure_messages_are_read_with_their_channel():
    bend = event_from_message(mido.Message("pitchwheel", channel=5, pitch=-100))
    assert bend is not None and (bend.kind, bend.value, bend.channel) == (NoteKind.BEND, -100, 5)
    pressure = event_from_message(mido.Message("aftertouch", channel=3, value=90))
    assert pressure is not None and pressure.kind == NoteKind.PRESSURE and pressure.value == 90


def _median_midi(audio: np.ndarray, rate: int, start: float, end: float) -> float:
    part = audio[int(start * rate):int(end * rate)]
    f0, voiced, _ = librosa.pyin(part, fmin=60.0, fmax=1000.0, sr=rate, frame_length=2048)
    assert np.mean(voiced) > 0.5, f"unvoiced between {start} and {end} s"
    return float(librosa.hz_to_midi(np.nanmedian(f0)))


@pytest.mark.skipif(not DEFAULT_VOICE.is_file(), reason="no shipped voice")
@pytest.mark.parametrize("configured", ["--mpe", "configuration message"])
def test_an_mpe_bend_glides_the_shipped_voice_on_that_note_only(tmp_path: Path,
                                                                configured: str):
    """A2 on member channel 2 bends up 2 semitones; then D3 on channel 3 plays while channel
    2's wheel is still up, and must not be bent. MPE is on from the start (``--mpe``), or
    from the MPE Configuration Message at the head of the file."""
    midi = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks a second
    track = mido.MidiTrack()
    midi.tracks.append(track)
    if configured == "configuration message":
        for control, value in ((101, 0), (100, 6), (6, 15)):
            track.append(mido.Message("control_change", channel=0, control=control,
                                      value=value))
    track.append(mido.Message("note_on", channel=1, note=45, velocity=100, time=0))
    steps = 20
    for step in range(1, steps + 1):  # a 0.3 s ramp starting at 1.2 s
        wait = 1152 if step == 1 else 288 // steps
        track.append(mido.Message("pitchwheel", channel=1, pitch=round(341.33 * step / steps),
                                  time=wait))
    track.append(mido.Message("note_off", channel=1, note=45, time=1440))
    track.append(mido.Message("note_on", channel=2, note=50, velocity=100, time=960))
    track.append(mido.Message("note_off", channel=2, note=50, time=1440))
    midi.save(str(tmp_path / "bend.mid"))
    render_midi(DEFAULT_VOICE, tmp_path / "bend.mid", tmp_path / "bend.wav", seed=0,
                bend=BendSettings(mpe=configured == "--mpe"))
    audio, rate = soundfile.read(tmp_path / "bend.wav", dtype="float32")
    before = _median_midi(audio, rate, 0.3, 1.1)
    after = _median_midi(audio, rate, 1.7, 2.9)
    other = _median_midi(audio, rate, 4.2, 4.9)
    assert before == pytest.approx(45, abs=0.5)
    assert after - before == pytest.approx(2.0, abs=0.5), (before, after)
    assert other == pytest.approx(50, abs=0.5), "the next note, on its own channel, is unbent"


@pytest.mark.skipif(not DEFAULT_VOICE.is_file(), reason="no shipped voice")
def test_an_mpe_bend_from_a_jack_midi_keyboard_glides_the_live_voice():
    """The same bend, live: real JACK MIDI into deepnote-synth --mpe, its real output."""
    pytest.importorskip("jack")
    from tests.jack_harness import tools_missing
    from tests.jack_keyboard import keyboard_and_voice

    if tools_missing():
        pytest.skip("JACK tools missing")
    with keyboard_and_voice(DEFAULT_VOICE, "--mpe", "--no-composer",
                            capture_seconds=20.0) as (_, _, keyboard, _):
        # Delays count from now: A2 on member channel 2 at 0.5 s, bent +2 semitones (of 48)
        # over 0.3 s from 1.7 s, released at 3.5 s; D3 on channel 3 from 4.5 to 6 s, while
        # channel 2's wheel is still up.
        on = keyboard.send([0x91, 45, 100], delay_seconds=0.5)
        for step in range(1, 21):
            wheel = 8192 + round(341.33 * step / 20)
            keyboard.send([0xE1, wheel & 0x7F, wheel >> 7], delay_seconds=1.7 + 0.015 * step)
        keyboard.send([0x81, 45, 0], delay_seconds=3.5)
        keyboard.send([0x92, 50, 100], delay_seconds=4.5)
        keyboard.send([0x82, 50, 0], delay_seconds=6.0)
        time.sleep(9.0)
        rate = keyboard.rate
        audio = librosa.resample(keyboard.capture, orig_sr=rate, target_sr=16000)
        start = on / rate
        before = _median_midi(audio, 16000, start + 0.3, start + 1.1)
        after = _median_midi(audio, 16000, start + 1.7, start + 2.9)
        other = _median_midi(audio, 16000, start + 4.2, start + 5.4)
    assert before == pytest.approx(45, abs=0.5)
    assert after - before == pytest.approx(2.0, abs=0.5), (before, after)
    assert other == pytest.approx(50, abs=0.5)
