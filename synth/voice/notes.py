"""Which voice plays which note, and what each voice is told, sample by sample.

A key held down keeps the samples-until-end counter at its cap (nobody knows yet when the
note will end); note-off, or lifting the sustain pedal over a released key, starts the
countdown, and the voice falls silent when it reaches zero. Beyond the polyphony limit the
oldest note is taken over. New notes begin at the next frame boundary, as in training.

The network's pitch input is continuous, so pitch bend moves it: the wheel of a note's channel
(``bend_range`` semitones at full throw) or, in MPE (lower zone), the master channel's wheel
for every note plus the note's own member channel (``member_range``). Channel pressure raises
the velocity input (level and brightness) above the struck velocity; slide (CC 74, MPE's third
dimension and General MIDI's brightness) moves it up to a quarter either way from its centre.
All glide linearly over a block, so a moving wheel does not step. An MPE Configuration Message
(RPN 6 on channel 1) turns MPE on with that many member channels, or off with 0; RPN 0 (pitch
bend sensitivity) sets the master's or the members' bend range, as the MPE specification says.
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
SLIDE_CONTROL = 74
RPN_CONTROLS = (101, 100, 6, 38)  # RPN MSB, RPN LSB, data entry MSB, data entry LSB
RPN_PITCH_BEND_SENSITIVITY, RPN_MPE_CONFIGURATION = (0, 0), (0, 6)
SLIDE_CENTRE, SLIDE_DEPTH = 0.5, 0.5  # CC 74 = 64 leaves the velocity input as struck
BEND_FULL_SCALE = 8192  # mido's pitchwheel runs -8192..8191
MPE_MASTER_CHANNEL = 0  # lower zone: channel 1 is the master, 2..16 the members


class NoteKind(StrEnum):
    """What a voice event does."""

    ON = "on"
    OFF = "off"
    SUSTAIN = "sustain"  # value: the pedal, 0..127
    ALL_OFF = "all_off"  # release every note (each ends naturally)
    SILENCE = "silence"  # stop every voice now
    BEND = "bend"  # value: the channel's pitch wheel, -8192..8191
    PRESSURE = "pressure"  # value: the channel's pressure (aftertouch), 0..127
    SLIDE = "slide"  # value: the channel's CC 74, 0..127
    PARAMETER = "parameter"  # pitch: an RPN controller (101, 100, 6, 38), value: its value
    RELEASE_COMPOSED = "release_composed"  # release every note the composer started


@dataclass(frozen=True)
class NoteEvent:
    kind: NoteKind
    pitch: int = 0
    value: int = 0
    channel: int = 0  # 0..15
    composed: bool = False  # the composer's, not a player's


@dataclass(frozen=True)
class BendSettings:
    """How far the wheels bend, in semitones at full throw."""

    bend_range: float = 2.0
    mpe: bool = False
    member_range: float = 48.0  # MPE's default for per-note bend
    member_channels: int = 15  # the lower zone's member channels: 2 .. 1 + member_channels


DEFAULT_BEND = BendSettings()


def event_from_message(message: mido.Message) -> NoteEvent | None:
    """The voice's reading of a MIDI message (any channel); None for what it ignores."""
    if message.type == "note_on" and message.velocity > 0:
        return NoteEvent(NoteKind.ON, message.note, message.velocity, message.channel)
    if message.type in ("note_on", "note_off"):
        return NoteEvent(NoteKind.OFF, message.note, channel=message.channel)
    if message.type == "pitchwheel":
        return NoteEvent(NoteKind.BEND, value=message.pitch, channel=message.channel)
    if message.type == "aftertouch":
        return NoteEvent(NoteKind.PRESSURE, value=message.value, channel=message.channel)
    if message.type == "control_change":
        if message.control == SLIDE_CONTROL:
            return NoteEvent(NoteKind.SLIDE, value=message.value, channel=message.channel)
        if message.control in RPN_CONTROLS:
            return NoteEvent(NoteKind.PARAMETER, message.control, message.value,
                             message.channel)
        if message.control == SUSTAIN_CONTROL:
            return NoteEvent(NoteKind.SUSTAIN, value=message.value)
        if message.control == ALL_NOTES_OFF_CONTROL:
            return NoteEvent(NoteKind.ALL_OFF)
        if message.control == ALL_SOUND_OFF_CONTROL:
            return NoteEvent(NoteKind.SILENCE)
    return None


def apply_event(allocator: VoiceAllocator, event: NoteEvent) -> None:
    if event.kind == NoteKind.ON:
        allocator.note_on(event.pitch, event.value, event.channel, composed=event.composed)
    elif event.kind == NoteKind.OFF:
        allocator.note_off(event.pitch, event.channel, composed=event.composed)
    elif event.kind == NoteKind.RELEASE_COMPOSED:
        allocator.release_composed()
    elif event.kind == NoteKind.BEND:
        allocator.bend(event.channel, event.value)
    elif event.kind == NoteKind.PRESSURE:
        allocator.press(event.channel, event.value)
    elif event.kind == NoteKind.SLIDE:
        allocator.slide(event.channel, event.value)
    elif event.kind == NoteKind.PARAMETER:
        allocator.parameter(event.channel, event.pitch, event.value)
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
    channel: int = 0
    input_pitch: float | None = None  # the pitch input at the end of the last block
    input_velocity: float | None = None  # the velocity input at the end of the last block
    composed: bool = False  # started by the composer

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
    wheels: tuple[float, ...]
    pressures: tuple[float, ...]
    slides: tuple[float, ...]
    bend: BendSettings
    parameters: tuple[tuple[int, int], ...]


class VoiceAllocator:
    def __init__(self, voices: int, counter_cap: int, frame_size: int,
                 trained_range: tuple[int, int] = (0, 127),
                 bend: BendSettings = DEFAULT_BEND) -> None:
        self.slots = [VoiceSlot() for _ in range(voices)]
        self.trained_range = trained_range
        self.bend_settings = bend
        self.wheels = [0.0] * 16  # each channel's wheel, -1..1
        self.pressures = [0.0] * 16  # each channel's pressure, 0..1
        self.slides = [SLIDE_CENTRE] * 16  # each channel's CC 74, 0..1
        self.parameters = [(127, 127)] * 16  # each channel's selected RPN (127, 127 = none)
        self.counter_cap = counter_cap
        self.frame_size = frame_size
        self.sustain = False
        self.now = 0
        self.steals = 0
        self.presses = 0
        self.announce = True  # off while a rewind plays already-announced notes again

    def snapshot(self) -> AllocatorState:
        return AllocatorState(tuple(replace(slot) for slot in self.slots), self.sustain,
                              self.now, self.steals, self.presses, tuple(self.wheels),
                              tuple(self.pressures), tuple(self.slides), self.bend_settings,
                              tuple(self.parameters))

    def restore(self, state: AllocatorState) -> None:
        self.slots = [replace(slot) for slot in state.slots]
        self.sustain, self.now = state.sustain, state.now
        self.steals, self.presses = state.steals, state.presses
        self.wheels, self.pressures = list(state.wheels), list(state.pressures)
        self.slides, self.parameters = list(state.slides), list(state.parameters)
        self.bend_settings = state.bend

    def bend(self, channel: int, wheel: int) -> None:
        """A channel's pitch wheel moved (-8192..8191)."""
        self.wheels[channel] = max(-1.0, wheel / BEND_FULL_SCALE)

    def press(self, channel: int, pressure: int) -> None:
        """A channel's pressure (aftertouch, 0..127) changed."""
        self.pressures[channel] = encode_velocity(pressure)

    def slide(self, channel: int, value: int) -> None:
        """A channel's slide (CC 74, 0..127) moved."""
        self.slides[channel] = value / 127

    def parameter(self, channel: int, control: int, value: int) -> None:
        """A registered-parameter controller: select (CC 101/100), or set (CC 6) the pitch
        bend sensitivity or the MPE configuration."""
        msb, lsb = self.parameters[channel]
        if control == 101:
            self.parameters[channel] = (value, lsb)
        elif control == 100:
            self.parameters[channel] = (msb, value)
        elif control == 6:
            self._set_parameter(channel, (msb, lsb), value)

    def _set_parameter(self, channel: int, parameter: tuple[int, int], value: int) -> None:
        settings = self.bend_settings
        if parameter == RPN_MPE_CONFIGURATION and channel == MPE_MASTER_CHANNEL:
            members = min(value, 15)
            self.bend_settings = replace(settings, mpe=members > 0,
                                         member_channels=members or settings.member_channels)
            if self.announce:
                log.info("MPE %s by the controller's configuration message", (
                    f"lower zone on, {members} member channels" if members else "off"))
        elif parameter == RPN_PITCH_BEND_SENSITIVITY:
            if settings.mpe and self._is_member(channel):
                self.bend_settings = replace(settings, member_range=float(value))
            else:
                self.bend_settings = replace(settings, bend_range=float(value))

    def _is_member(self, channel: int) -> bool:
        return 1 <= channel <= self.bend_settings.member_channels

    def bend_semitones(self, channel: int) -> float:
        """How far a note on ``channel`` is bent now."""
        settings = self.bend_settings
        if not settings.mpe:
            return self.wheels[channel] * settings.bend_range
        zone = self.wheels[MPE_MASTER_CHANNEL] * settings.bend_range
        if not self._is_member(channel):
            return zone
        return zone + self.wheels[channel] * settings.member_range

    def note_on(self, pitch: int, velocity: int, channel: int = 0,
                composed: bool = False) -> int:
        if velocity == 0:
            self.note_off(pitch, channel, composed)
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
                                      needs_reset=True, channel=channel, composed=composed)
        if self.bend_settings.mpe and self._is_member(channel):
            self.pressures[channel] = 0.0  # a member channel's pressure belongs to its note
        self.presses += 1
        return index

    def note_off(self, pitch: int, channel: int = 0, composed: bool = False) -> None:
        for slot in self.slots:
            if (slot.active and slot.key_down and int(slot.pitch) == pitch
                    and slot.channel == channel and slot.composed == composed):
                slot.key_down = False
                slot.counting = not self.sustain

    def release_composed(self) -> None:
        """Release every note the composer started (the pedal is the player's, not its)."""
        for slot in self.slots:
            if slot.active and slot.composed:
                slot.key_down = False
                slot.counting = True

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
            if not slot.active:
                condition[index, :, PITCH] = encode_pitch(slot.model_pitch)
                continue
            pitch = self._pitch_input(slot)
            velocity = min(1.0, max(0.0, max(slot.velocity, self.pressures[slot.channel])
                                    + SLIDE_DEPTH * (self.slides[slot.channel] - SLIDE_CENTRE)))
            condition[index, :, PITCH] = _glide(slot.input_pitch, pitch, length)
            slot.input_pitch = pitch
            offset = max(0, slot.started - self.now)
            if offset >= length:
                continue
            remaining = np.full(length - offset, slot.remaining, np.int64)
            if slot.counting:
                remaining = np.maximum(slot.remaining - np.arange(length - offset), 0)
                slot.remaining = int(remaining[-1]) - 1 if remaining[-1] > 0 else 0
            sounding = remaining > 0
            velocities = _glide(slot.input_velocity, velocity, length - offset)
            slot.input_velocity = velocity
            condition[index, offset:, VELOCITY] = np.where(sounding, velocities, 0.0)
            condition[index, offset:, COUNTER] = encode_counter(remaining, self.counter_cap)
            active[index, offset:] = sounding
            if slot.counting and slot.remaining <= 0:
                self.slots[index] = VoiceSlot(pitch=slot.pitch, model_pitch=slot.model_pitch)
        self.now += length
        return condition, resets, active

    def _pitch_input(self, slot: VoiceSlot) -> float:
        """The model's (encoded) pitch for a slot: its note, bent, kept in the trained range
        (beyond it the mixer resamples, at the rate fixed at note-on)."""
        low, high = self.trained_range
        bent = slot.model_pitch + self.bend_semitones(slot.channel)
        return float(encode_pitch(min(max(bent, float(low)), float(high))))


def _glide(start: float | None, end: float, length: int) -> np.ndarray:
    """``length`` values moving linearly from just after ``start`` to ``end``."""
    if start is None or start == end:
        return np.full(length, end, np.float32)
    return np.linspace(start, end, length + 1, dtype=np.float32)[1:]
