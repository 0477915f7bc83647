"""The voice worker: a process that plays notes on the autoregressive voice, live.

It owns the voice model, the note allocator and the MIDI keyboard (so a key press reaches
the model without passing through the audio process), and keeps the shared ring filled ahead
of pyo's read head (:mod:`synth.voice.writer`). While no note sounds it writes silence
without running the model.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synth.composer.player import ComposeCommand, ComposeKind, ComposerPlayer
from synth.contract.model_file import VoiceModelInfo
from synth.voice.notes import DEFAULT_BEND, BendSettings, NoteEvent, event_from_message
from synth.voice.read_clock import (
    ESTIMATED_LEAD_MS,
    JACK_LEAD_MS,
    EstimatedReadClock,
    JackCycleClock,
    ReadClock,
    ReadClockUnavailable,
)
from synth.voice.ring import WORKER_PID, VoiceRing
from synth.voice.switching import SwitchVoice, VoiceLoader, VoiceSwitched
from synth.voice.writer import VoiceWriter
from synth.workers import WorkerFailed, WorkerReady, parent_is_gone

if TYPE_CHECKING:
    from synth.midi_input import MidiInput
    from synth.voice.mixer import VoiceMixer

log = logging.getLogger("deepnote.voice")

IDLE_SLEEP_SECONDS = 0.0005
PARENT_CHECK_SECONDS = 0.5
SLOW_VOICE_FACTOR = 1.1  # below this, a fully busy voice cannot keep up


DEFAULT_HORIZON_MS = 80.0


@dataclass(frozen=True)
class VoiceOptions:
    """What the performer chose for the voice (command-line options)."""

    model_path: str
    lead_ms: float | None = None  # None: ESTIMATED_LEAD_MS, or JACK_LEAD_MS under JACK
    horizon_ms: float = DEFAULT_HORIZON_MS
    midi_in: str | None = None
    midi_api: str | None = None
    midi_client: str = "deepnote"
    composer_path: str | None = None
    seed: int = 0
    log_level: int = logging.INFO
    bend: BendSettings = DEFAULT_BEND


@dataclass(frozen=True)
class VoiceWorkerSettings:
    """The options, and the shared ring the audio process made for the worker."""

    options: VoiceOptions
    ring_name: str
    clock_name: str
    ring_size: int
    horizon_samples: int
    jack_clock_name: str | None = None  # under JACK: the read clock's client name


def voice_worker_main(settings: VoiceWorkerSettings, commands: mp.Queue,
                      results: mp.Queue) -> None:
    """Entry point of the worker process; returns when told to stop or orphaned."""
    options = settings.options
    logging.basicConfig(level=options.log_level, format="deepnote-synth: %(message)s")
    from synth.composer.model import load_composer
    from synth.contract.model_file import ModelFileError, read_voice_model
    from synth.contract.module_weights import load_module_weights
    from synth.midi_input import MidiError, MidiInput
    from synth.voice.mixer import VoiceMixer

    try:
        model = read_voice_model(options.model_path)
        mixer = VoiceMixer(load_module_weights(options.model_path), model, options.seed,
                           options.bend)
        composer = (ComposerPlayer(load_composer(Path(options.composer_path), options.seed),
                                   model.sample_rate, mixer.allocator.trained_range)
                    if options.composer_path else None)
        midi = (MidiInput(options.midi_in, options.midi_api, options.midi_client)
                if options.midi_in else None)
    except (ModelFileError, MidiError) as error:
        results.put(WorkerFailed(str(error)))
        return
    _warn_if_slow(mixer, model)
    ring = VoiceRing(settings.ring_size, settings.ring_name, settings.clock_name)
    ring.clock[WORKER_PID] = mp.current_process().pid or 0
    clock = _read_clock(settings, ring, model.sample_rate)
    writer = VoiceWriter(mixer, ring, clock, model.sample_rate, settings.horizon_samples)
    results.put(WorkerReady(mp.current_process().pid or 0))
    loader = VoiceLoader(model.sample_rate, options.seed, options.bend)
    try:
        _serve(writer, commands, results, midi, composer, loader)
    finally:
        if midi is not None:
            midi.close()
        clock.close()
        ring.close()


def _read_clock(settings: VoiceWorkerSettings, ring: VoiceRing, rate: int) -> ReadClock:
    """JACK's cycle clock under JACK, else the estimate (also when JACK refuses a client)."""
    lead_ms = settings.options.lead_ms
    if settings.jack_clock_name is not None:
        try:
            clock = JackCycleClock(ring, rate, (lead_ms or JACK_LEAD_MS) / 1000,
                                   settings.jack_clock_name)
        except ReadClockUnavailable as error:
            log.warning("voice: cannot read JACK's cycle clock (%s); key presses are applied "
                        "%g ms ahead of an estimated read head instead", error,
                        lead_ms or ESTIMATED_LEAD_MS)
        else:
            log.debug("voice: input lands on JACK cycles at least %.1f ms away",
                      lead_ms or JACK_LEAD_MS)
            return clock
    return EstimatedReadClock(ring, rate, round((lead_ms or ESTIMATED_LEAD_MS) * rate / 1000))


def _warn_if_slow(mixer: VoiceMixer, model: VoiceModelInfo) -> None:
    speed = mixer.real_time_factor()
    log.info("voice generates %.2fx real time with all %d voices busy", speed,
             len(mixer.allocator.slots))
    if speed < SLOW_VOICE_FACTOR:
        log.warning("this %s voice is too slow to play %d notes live on this machine "
                    "(%.2fx real time): notes will break up; render MIDI offline with "
                    "--midi-file, or play a SampleRNN voice", model.architecture,
                    len(mixer.allocator.slots), speed)


def _serve(writer: VoiceWriter, commands: mp.Queue, results: mp.Queue, midi: MidiInput | None,
           composer: ComposerPlayer | None, loader: VoiceLoader) -> None:
    next_parent_check = 0.0
    switch_to: tuple[str, VoiceMixer] | None = None  # loaded, waiting for a silence
    while True:
        received, stop = _drain(commands)
        if stop:
            return
        played: list[NoteEvent] = []
        for command in received:
            if isinstance(command, SwitchVoice):
                loader.request(command.path)
            elif isinstance(command, ComposeCommand):
                if composer is None:
                    log.info("no composer loaded; /compose/%s ignored", command.kind)
                else:
                    writer.play(played)  # what came before it, in order
                    played = []
                    writer.rewind()  # a command is input too: it starts at the input position
                    if command.kind in (ComposeKind.PLAY, ComposeKind.STOP):
                        writer.withdraw_composed()
                    writer.apply(composer.handle(command, writer.write_index))
            else:
                played.append(command)
        if midi is not None:
            played.extend(event for event in map(event_from_message, midi.poll())
                          if event is not None)
        writer.play(played)
        if composer is not None:
            writer.apply(composer.due_events(writer.write_index))
        loaded = loader.finished()
        if loaded is not None:
            path, mixer, error = loaded
            if mixer is None:
                log.warning("voice model refused: %s; the voice plays on", error)
                results.put(VoiceSwitched(path, error))
            else:
                switch_to = (path, mixer)
        if switch_to is not None and writer.allocator.sounding == 0:
            writer = _switched(writer, *switch_to, composer)
            results.put(VoiceSwitched(switch_to[0]))
            switch_to = None
        if not writer.fill():
            time.sleep(IDLE_SLEEP_SECONDS)
        now = time.monotonic()
        if now >= next_parent_check:
            next_parent_check = now + PARENT_CHECK_SECONDS
            if parent_is_gone():
                return


def _switched(writer: VoiceWriter, path: str, mixer: VoiceMixer,
              composer: ComposerPlayer | None) -> VoiceWriter:
    """A writer for the new voice, on the same ring, writing from the lead point on (what
    the old one wrote ahead is silence: nothing was sounding)."""
    new = VoiceWriter(mixer, writer.ring, writer.clock, writer.rate, writer.horizon)
    new.allocator.sustain = writer.allocator.sustain
    if composer is not None:
        composer.follow_voice(new.allocator.trained_range)
    log.info("voice model %s playing", path)
    return new


def _drain(commands: mp.Queue) -> tuple[list[NoteEvent | ComposeCommand | SwitchVoice], bool]:
    events: list[NoteEvent | ComposeCommand | SwitchVoice] = []
    while True:
        try:
            command = commands.get_nowait()
        except queue.Empty:
            return events, False
        if command is None:
            return events, True
        events.append(command)
