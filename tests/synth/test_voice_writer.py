"""The voice writer: filled far ahead while nothing happens, yet input is heard at the lead.

A writer that runs ahead and takes back its lookahead when input arrives must play exactly
what a writer that never ran ahead plays, sample for sample: same note starts, same model
noise, a composer's scheduled notes at the same samples.
"""

from collections.abc import Callable

import numpy as np
import pytest

from synth.contract.model_file import read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.voice.mixer import VoiceMixer
from synth.voice.notes import NoteEvent, NoteKind
from synth.voice.read_clock import EstimatedReadClock
from synth.voice.ring import READ_INDEX, READ_TIME, VoiceRing, ring_size
from synth.voice.writer import VoiceWriter

RATE = 16000
LEAD, HORIZON = 192, 1280  # 12 ms and 80 ms


def _writer(model, horizon: int) -> tuple[VoiceWriter, VoiceRing]:
    ring = VoiceRing(ring_size(RATE))
    ring.clock[READ_TIME] = 0.0  # no extrapolation: the read head is where the test says
    mixer = VoiceMixer(load_module_weights(model), read_voice_model(model), seed=0)
    return VoiceWriter(mixer, ring, EstimatedReadClock(ring, RATE, LEAD), RATE, horizon), ring


def _perform(writer: VoiceWriter, ring: VoiceRing,
             script: list[tuple[int, Callable[[VoiceWriter], None]]], end: int) -> np.ndarray:
    """Move the read head 32 samples at a time, filling as the worker would, and act at
    the scripted read positions; the ring's samples up to ``end``."""
    read = 0
    for at, action in [*script, (end, lambda _: None)]:
        while read < at:
            read = min(at, read + 32)
            ring.clock[READ_INDEX] = read
            while writer.fill():
                pass
        action(writer)
    return ring.samples[:end].copy()


def _on(pitch: int) -> Callable[[VoiceWriter], None]:
    return lambda writer: writer.play([NoteEvent(NoteKind.ON, pitch, 100)])


def _off(pitch: int) -> Callable[[VoiceWriter], None]:
    return lambda writer: writer.play([NoteEvent(NoteKind.OFF, pitch)])


SCRIPT = [(0, _on(41)), (640, _on(45)), (2000, _off(41)), (2600, _on(43))]


def test_a_writer_ahead_plays_what_a_writer_at_the_lead_plays(tiny_voice_model):
    ahead, ahead_ring = _writer(tiny_voice_model, HORIZON)
    close, close_ring = _writer(tiny_voice_model, LEAD)
    try:
        heard_ahead = _perform(ahead, ahead_ring, SCRIPT, end=5000)
        heard_close = _perform(close, close_ring, SCRIPT, end=5000)
        assert ahead.write_index - 5000 >= HORIZON - ahead.block
        assert close.write_index - 5000 <= LEAD + close.block
        # The close writer stays within a block of the lead, so it may take back part of
        # one block; the far one takes back every key press's worth.
        assert ahead.rewinds == 3 and close.rewinds <= 3
        assert np.abs(heard_close).max() > 1e-3, "the notes sound"
        np.testing.assert_array_equal(heard_ahead, heard_close)
    finally:
        ahead_ring.close()
        close_ring.close()


def test_scheduled_notes_are_played_again_where_they_were_after_a_rewind(tiny_voice_model):
    # A composer's note applied far ahead (at the writer's position), then a key press
    # before it: the rewind goes back past the composer's note, which is applied again at
    # the same sample.
    ahead, ahead_ring = _writer(tiny_voice_model, HORIZON)
    scheduled_at: list[int] = []

    def schedule(writer: VoiceWriter) -> None:
        scheduled_at.append(writer.write_index)
        writer.apply([NoteEvent(NoteKind.ON, 48, 90)])

    try:
        heard_ahead = _perform(ahead, ahead_ring, [(0, _on(41)), (400, schedule),
                                                   (600, _on(45))], end=4000)
    finally:
        ahead_ring.close()
    (when,) = scheduled_at
    assert when > 600 + LEAD, "the scheduled note lay beyond the key press's lead point"

    close, close_ring = _writer(tiny_voice_model, LEAD)

    def schedule_when_due(writer: VoiceWriter) -> None:
        assert writer.write_index == when
        writer.apply([NoteEvent(NoteKind.ON, 48, 90)])

    try:
        # The writer at the lead reaches the scheduled sample later: when the read head is
        # a lead before it.
        heard_close = _perform(close, close_ring, [(0, _on(41)), (600, _on(45)),
                                                   (when - LEAD, schedule_when_due)],
                               end=4000)
    finally:
        close_ring.close()
    assert ahead.rewinds == 1
    np.testing.assert_array_equal(heard_ahead, heard_close)


@pytest.mark.parametrize("horizon", [LEAD, HORIZON])
def test_nothing_sounds_after_all_sound_off(tiny_voice_model, horizon):
    writer, ring = _writer(tiny_voice_model, horizon)
    try:
        heard = _perform(writer, ring, [(0, _on(41)), (1000, lambda w: w.play(
            [NoteEvent(NoteKind.SILENCE)]))], end=3000)
    finally:
        ring.close()
    assert np.abs(heard[:1000]).max() > 1e-3
    silent_from = 1000 + LEAD + writer.block
    assert np.abs(heard[silent_from:]).max() == 0.0


def test_keys_inside_one_block_take_voices_in_order_and_log_once(tiny_voice_model, caplog):
    """Six keys inside one block: each press takes back the ones before it and plays them
    again, in the order they came, so that a steal or a transposition is announced once."""
    writer, ring = _writer(tiny_voice_model, HORIZON)
    chord = [(index, _on(pitch)) for index, pitch in enumerate([41, 43, 45, 47, 60, 48])]
    try:
        with caplog.at_level("DEBUG", logger="deepnote.voice"):
            _perform(writer, ring, chord, end=2000)
    finally:
        ring.close()
    assert writer.rewinds == 5 and writer.allocator.steals == 2
    # the two oldest keys were taken over, as a writer that never ran ahead would have it
    assert sorted(int(slot.pitch) for slot in writer.allocator.slots) == [45, 47, 48, 60]
    messages = [record.getMessage() for record in caplog.records]
    assert [m.split(" taken over by ")[1] for m in messages if "taken over" in m] == [
        "note 60 (polyphony 4)", "note 48 (polyphony 4)"]
    assert sum("note 47 is outside the trained range" in message for message in messages) == 1


def test_the_block_is_a_multiple_of_the_frame_and_never_tiny():
    from synth.voice.writer import writer_block

    assert writer_block(16) == 32  # the SampleRNN's: input lands within 2 ms
    assert writer_block(1) == 32  # the WaveNet's: was 2, a snapshot every two samples
    assert writer_block(48) == 48 and writer_block(5) == 35


def test_a_composer_stop_leaves_no_note_that_was_written_ahead(tiny_voice_model):
    """The composer's notes are applied where the writer is, far ahead; a stop is input and
    starts at the lead point. Replaying the composer's notes from beyond that point after
    the stop would start notes nobody ever releases (the live composer test caught one)."""
    writer, ring = _writer(tiny_voice_model, HORIZON)
    def compose(w: VoiceWriter) -> None:
        w.apply([NoteEvent(NoteKind.OFF, 43, composed=True),
                 NoteEvent(NoteKind.ON, 45, 90, composed=True)])

    def stop(w: VoiceWriter) -> None:
        w.rewind()
        w.withdraw_composed()
        w.apply([NoteEvent(NoteKind.RELEASE_COMPOSED)])

    try:
        heard = _perform(writer, ring, [
            (0, lambda w: w.apply([NoteEvent(NoteKind.ON, 43, 90, composed=True)])),
            (500, compose), (520, stop)], end=16000)
    finally:
        ring.close()
    assert writer.allocator.sounding == 0, "every composed note ended"
    assert np.abs(heard[:2000]).max() > 1e-3, "the composer's first note sounds"
    cap_samples = writer.allocator.counter_cap
    assert np.abs(heard[520 + LEAD + writer.block + cap_samples:]).max() == 0.0


def test_a_writer_that_falls_behind_a_note_says_so_to_its_clock(tiny_voice_model):
    writer, ring = _writer(tiny_voice_model, HORIZON)
    lateness: list[float] = []
    writer.clock.late = lambda: lateness.append(ring.clock[READ_INDEX])
    try:
        _perform(writer, ring, [(0, lambda w: None)], end=2000)  # silence: never late
        assert lateness == []
        writer.play([NoteEvent(NoteKind.ON, 41, 100)])
        ring.clock[READ_INDEX] = writer.write_index + 500  # the worker starved for a while
        writer.fill()
        assert lateness == [ring.clock[READ_INDEX]]
        assert writer.write_index >= ring.clock[READ_INDEX] + LEAD, "it jumps ahead"
    finally:
        ring.close()


@pytest.mark.parametrize("read", [16, 48, 96])
def test_input_lands_on_the_first_frame_at_the_input_position_not_the_next_block(
        tiny_voice_model, read):
    writer, ring = _writer(tiny_voice_model, HORIZON)
    try:
        _perform(writer, ring, [(read, _on(41))], end=read)
        landed = [index for index, event in writer._applied if event.kind is NoteKind.ON]
        frame = writer.allocator.frame_size
        assert frame < writer.block, "the test needs a frame finer than the block"
        first_frame = -(-(read + LEAD) // frame) * frame
        assert landed == [first_frame]
        assert writer.rewinds == 1
        while writer.fill():
            pass
        assert writer.write_index - read >= HORIZON - writer.block, "and fills on from there"
    finally:
        ring.close()
