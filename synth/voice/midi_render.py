"""``deepnote-synth --audio offline --render out.wav --midi-file song.mid --voice voice.pt``:
a MIDI file played through the autoregressive voice, for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mido
import numpy as np
import soundfile

from synth.contract.model_file import ModelFileError, read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.files import atomic_output, audio_format
from synth.voice.mixer import VoiceMixer
from synth.voice.notes import (
    DEFAULT_BEND,
    BendSettings,
    NoteEvent,
    NoteKind,
    apply_event,
    event_from_message,
)

CEILING = 10 ** (-1.05 / 20)
TAIL_SECONDS = 0.5


def read_midi_events(path: Path, rate: int) -> list[tuple[int, NoteEvent]]:
    """(sample, event) for the notes, pedals, wheels and pressure of a MIDI file; other
    messages are ignored."""
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise ModelFileError(f"{path}: unreadable MIDI file ({type(error).__name__})") from error
    events, now = [], 0.0
    for message in midi:
        now += message.time
        event = event_from_message(message)
        if event is not None:
            events.append((round(now * rate), event))
    return events


def render_midi(voice_path: Path, midi_path: Path, out: Path, seed: int = 0,
                bend: BendSettings = DEFAULT_BEND) -> dict[str, Any]:
    model = read_voice_model(voice_path)
    rate, cap = model.sample_rate, model.counter_cap
    events = read_midi_events(midi_path, rate)
    if not any(event.kind == NoteKind.ON for _, event in events):
        raise ModelFileError(f"{midi_path}: no notes to play")
    mixer = VoiceMixer(load_module_weights(voice_path), model, seed, bend)
    block = model.frame_size
    total = events[-1][0] + cap + int(TAIL_SECONDS * rate)
    total += -total % block
    mix = np.zeros(total, np.float32)
    pending = list(events)
    for start in range(0, total, block):
        while pending and pending[0][0] < start + block:
            apply_event(mixer.allocator, pending.pop(0)[1])
        mix[start:start + block] = mixer.next_block(block)
    peak = float(np.max(np.abs(mix)))
    if peak > CEILING:
        mix *= CEILING / peak
    with atomic_output(out) as partial:
        written = audio_format(out)
        soundfile.write(partial, mix, rate, format=written.format, subtype=written.subtype)
    return {"seconds": total / rate, "notes": sum(event.kind == NoteKind.ON for _, event in events),
            "voices_taken_over": mixer.allocator.steals}
