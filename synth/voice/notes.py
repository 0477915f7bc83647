"""Which voice plays which note, and what each voice is told, sample by sample.

A key held down keeps the samples-until-end counter at its cap (nobody knows yet when the
note will end); note-off, or lifting the sustain pedal over a released key, starts the
countdown, and the voice falls silent when it reaches zero. Beyond the polyphony limit the
oldest note is taken over. New notes begin at the next frame boundary, as in training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum

import mido
import numpy as np

from synth.contract.conditioning import (
    COUNTER,
    FEATURES,
    PITCH,
    VELOCITY,
    encode_counter,
    encode_pitch,
    encode_velocity,
)

log = logging.getLogger("deepnote.voice")

SUSTAIN_CONTROL, ALL_SOUND_OFF_CONTROL, ALL_NOTES_OFF_CONTROL = 64, 120, 123


class NoteKind(StrEnum):
    """What a voice event does."""

    ON = "on"
    OFF = "off"
    SUSTAIN = "sustain"  # value: the pedal, 0..127
    ALL_OFF = "all_off"  # release every note (each ends naturally)
    SILENCE = "silence"  # stop every voice now


@dataclass(frozen=True)
class NoteEvent:
    kind: NoteKind
    pitch: int = 0
    value: int = 0


def event_from_message(message: mido.Message) -> NoteEvent | None:
    """The voice's reading of a MIDI message (any channel); None for what it ignores."""
    if message.type == "note_on" and message.velocity > 0:
        return NoteEvent(NoteKind.ON, message.note, message.velocity)
    if message.type in ("note_on", "note_off"):
        return NoteEvent(NoteKind.OFF, message.note)
    if message.type == "control_change":
        if message.control == SUSTAIN_CONTROL:
            return NoteEvent(NoteKind.SUSTAIN, value=message.value)
        if message.control == ALL_NOTES_OFF_CONTROL:
            return NoteEvent(NoteKind.ALL_OFF)
        if message.control == ALL_SOUND_OFF_CONTROL:
            return NoteEvent(NoteKind.SILENCE)
    return None


def apply_event(allocator: VoiceAllocator, event: NoteEvent) -> None:
    if event.kind == NoteKind.ON:
        allocator.note_on(event.pitch, event.value)
    elif event.kind == NoteKind.OFF:
        allocator.note_off(event.pitch)
    elif event.kind == NoteKind.SUSTAIN:
        allocator.set_sustain(event.value >= 64)
    elif event.kind == NoteKind.ALL_OFF:
        allocator.all_notes_off()
    elif event.kind == NoteKind.SILENCE:
        allocator.silence()


@dataclass
class VoiceSlot:
    pitch: float = 60.0  # the key played
    velocity: float = 0.0
    model_pitch: float = 60.0  # the note the model is asked for (nearest trained one)
    rate: float = 1.0  # resampling ratio from the model's note to the key's
    key_down: bool = False
    counting: bool = False
    remaining: int = 0
    started: int = -1  # sample at which the note began; -1 when idle
    press: int = 0  # keys pressed before this one: the oldest note is taken over first
    needs_reset: bool = False

    @property
    def active(self) -> bool:
        return self.started >= 0


@dataclass(frozen=True)
class AllocatorState:
    slots: tuple[VoiceSlot, ...]
    sustain: bool
    now: int
    steals: int
    presses: int


class VoiceAllocator:
    def __init__(self, voices: int, counter_cap: int, frame_size: int,
                 trained_range: tuple[int, int] = (0, 127)) -> None:
        self.slots = [VoiceSlot() for _ in range(voices)]
        self.trained_range = trained_range
        self.counter_cap = counter_cap
        self.frame_size = frame_size
        self.sustain = False
        self.now = 0
        self.steals = 0
        self.presses = 0
        self.announce = True  # off while a rewind plays already-announced notes again

    def snapshot(self) -> AllocatorState:
        return AllocatorState(tuple(replace(slot) for slot in self.slots), self.sustain,
                              self.now, self.steals, self.presses)

    def restore(self, state: AllocatorState) -> None:
        self.slots = [replace(slot) for slot in state.slots]
        self.sustain, self.now = state.sustain, state.now
        self.steals, self.presses = state.steals, state.presses

    def note_on(self, pitch: int, velocity: int) -> int:
        if velocity == 0:
            self.note_off(pitch)
            return -1
        free = [i for i, slot in enumerate(self.slots) if not slot.active]
        if free:
            index = free[0]
        else:
            # by press, not start: the keys of a chord start on the same sample
            index = min(range(len(self.slots)), key=lambda i: self.slots[i].press)
            self.steals += 1
            if self.announce:
                log.debug("voice %d taken over by note %d (polyphony %d)", index, pitch,
                         len(self.slots))
        start = -(-self.now // self.frame_size) * self.frame_size  # next frame boundary
        low, high = self.trained_range
        model_pitch = min(max(pitch, low), high)
        if model_pitch != pitch and self.announce:
            log.debug("note %d is outside the trained range %d..%d: playing %d resampled by "
                     "%+d semitones", pitch, low, high, model_pitch, pitch - model_pitch)
        self.slots[index] = VoiceSlot(pitch=float(pitch), velocity=encode_velocity(velocity),
                                      model_pitch=float(model_pitch),
                                      rate=2.0 ** ((pitch - model_pitch) / 12.0),
                                      key_down=True, remaining=self.counter_cap,
                                      started=start, press=self.presses,
                                      needs_reset=True)
        self.presses += 1
        return index

    def note_off(self, pitch: int) -> None:
        for slot in self.slots:
            if slot.active and slot.key_down and int(slot.pitch) == pitch:
                slot.key_down = False
                slot.counting = not self.sustain

    def set_sustain(self, down: bool) -> None:
        self.sustain = down
        if not down:
            for slot in self.slots:
                if slot.active and not slot.key_down:
                    slot.counting = True

    def all_notes_off(self) -> None:
        """Release every note now (the countdown still lets each end naturally)."""
        self.sustain = False
        for slot in self.slots:
            if slot.active:
                slot.key_down = False
                slot.counting = True

    def silence(self) -> None:
        """Stop every voice at once (all sound off, panic)."""
        self.sustain = False
        for index, slot in enumerate(self.slots):
            if slot.active:
                self.slots[index] = VoiceSlot(pitch=slot.pitch, model_pitch=slot.model_pitch)

    def skip(self, samples: int) -> None:
        """Let ``samples`` of time pass without generating them (the writer fell behind and
        jumped ahead): released notes still end on time, in the listener's time."""
        for index, slot in enumerate(self.slots):
            if slot.active and slot.counting:
                slot.remaining = max(0, slot.remaining - samples)
                if slot.remaining == 0:
                    self.slots[index] = VoiceSlot(pitch=slot.pitch, model_pitch=slot.model_pitch)
        self.now += samples

    @property
    def sounding(self) -> int:
        return sum(slot.active for slot in self.slots)

    def block(self, length: int) -> tuple[np.ndarray, list[int], np.ndarray]:
        """Conditioning [voices, length, 3], voices to reset first, and the active mask."""
        condition = np.zeros((len(self.slots), length, len(FEATURES)), np.float32)
        active = np.zeros((len(self.slots), length), bool)
        resets = []
        for index, slot in enumerate(self.slots):
            if slot.needs_reset:
                resets.append(index)
                slot.needs_reset = False
            condition[index, :, PITCH] = encode_pitch(slot.model_pitch)
            if not slot.active:
                continue
            offset = max(0, slot.started - self.now)
            if offset >= length:
                continue
            remaining = np.full(length - offset, slot.remaining, np.int64)
            if slot.counting:
                remaining = np.maximum(slot.remaining - np.arange(length - offset), 0)
                slot.remaining = int(remaining[-1]) - 1 if remaining[-1] > 0 else 0
            sounding = remaining > 0
            condition[index, offset:, VELOCITY] = np.where(sounding, slot.velocity, 0.0)
            condition[index, offset:, COUNTER] = encode_counter(remaining, self.counter_cap)
            active[index, offset:] = sounding
            if slot.counting and slot.remaining <= 0:
                self.slots[index] = VoiceSlot(pitch=slot.pitch, model_pitch=slot.model_pitch)
        self.now += length
        return condition, resets, active
