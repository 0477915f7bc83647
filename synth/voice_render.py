"""``deepnote-synth --audio offline --render out.wav --midi-file song.mid --voice voice.pt``:
a MIDI file played through the autoregressive voice, for demos and tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np
import soundfile

from synth.fast_voice import FastVoiceBank
from synth.model_file import KIND_VOICE, ModelFileError, read_metadata, validate_metadata
from synth.torchscript import load_torchscript
from synth.voice_notes import VoiceAllocator

CEILING = 10 ** (-1.05 / 20)
TAIL_SECONDS = 0.5
SUSTAIN_CONTROL, ALL_NOTES_OFF_CONTROL = 64, 123


@dataclass(frozen=True)
class MidiEvent:
    sample: int
    kind: str  # "on", "off", "sustain", "all_off"
    pitch: int = 0
    value: int = 0


def read_midi_events(path: Path, rate: int) -> list[MidiEvent]:
    """Note and pedal events of a MIDI file, in sample time; other messages are ignored."""
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise ModelFileError(f"{path}: unreadable MIDI file ({type(error).__name__})") from error
    events, now = [], 0.0
    for message in midi:
        now += message.time
        sample = round(now * rate)
        if message.type == "note_on" and message.velocity > 0:
            events.append(MidiEvent(sample, "on", message.note, message.velocity))
        elif message.type in ("note_on", "note_off"):
            events.append(MidiEvent(sample, "off", message.note))
        elif message.type == "control_change" and message.control == SUSTAIN_CONTROL:
            events.append(MidiEvent(sample, "sustain", value=message.value))
        elif message.type == "control_change" and message.control == ALL_NOTES_OFF_CONTROL:
            events.append(MidiEvent(sample, "all_off"))
    return events


def apply_event(allocator: VoiceAllocator, event: MidiEvent) -> None:
    if event.kind == "on":
        allocator.note_on(event.pitch, event.value)
    elif event.kind == "off":
        allocator.note_off(event.pitch)
    elif event.kind == "sustain":
        allocator.set_sustain(event.value >= 64)
    else:
        allocator.all_notes_off()


def render_midi(voice_path: Path, midi_path: Path, out: Path, seed: int = 0) -> dict[str, Any]:
    metadata = read_metadata(voice_path)
    validate_metadata(metadata, source=str(voice_path), expected_kind=KIND_VOICE)
    rate, cap = metadata["sample_rate"], metadata["counter_cap"]
    events = read_midi_events(midi_path, rate)
    if not any(event.kind == "on" for event in events):
        raise ModelFileError(f"{midi_path}: no notes to play")
    bank = FastVoiceBank(load_torchscript(voice_path), metadata["voices"], seed=seed)
    allocator = VoiceAllocator(metadata["voices"], cap, metadata["frame_size"])
    block = metadata["frame_size"]
    total = events[-1].sample + cap + int(TAIL_SECONDS * rate)
    total += -total % block
    mix = np.zeros(total, np.float32)
    pending = list(events)
    for start in range(0, total, block):
        while pending and pending[0].sample < start + block:
            apply_event(allocator, pending.pop(0))
        condition, resets, active = allocator.block(block)
        for voice in resets:
            bank.reset(voice)
        audio = bank.generate(condition)
        mix[start:start + block] = np.sum(audio * active, axis=0)
    peak = float(np.max(np.abs(mix)))
    if peak > CEILING:
        mix *= CEILING / peak
    partial = out.with_name(f".{out.name}.partial.wav")
    try:
        soundfile.write(partial, mix, rate, subtype="FLOAT")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return {"seconds": total / rate, "notes": sum(e.kind == "on" for e in events),
            "voices_taken_over": allocator.steals}
