"""The voice worker: a process that plays notes on the autoregressive voice, live.

It owns the voice model, the note allocator and the MIDI keyboard (so a key press reaches
the model without passing through the audio process), and keeps the shared ring filled a
short lead ahead of pyo's read head, one small block at a time. While no note sounds it
writes silence without running the model. Writing late (the read head already passed) is
counted as an underrun while a note sounds; the writer then jumps ahead instead of trying
to catch up with sound nobody will hear.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synth.composer_player import ComposeCommand, ComposerPlayer
from synth.processes import WorkerFailed, WorkerReady, parent_is_gone
from synth.voice_notes import NoteEvent, apply_event
from synth.voice_ring import LATE_SAMPLES, READ_INDEX, UNDERRUNS, WORKER_PID, VoiceRing

if TYPE_CHECKING:
    from synth.midi_input import MidiInput
    from synth.voice_mixer import VoiceMixer

log = logging.getLogger("deepnote.voice")

IDLE_SLEEP_SECONDS = 0.0005
PARENT_CHECK_SECONDS = 0.5
SLOW_VOICE_FACTOR = 1.1  # below this, a fully busy voice cannot keep up


@dataclass(frozen=True)
class VoiceWorkerSettings:
    model_path: str
    ring_name: str
    clock_name: str
    ring_size: int
    lead_samples: int
    midi_in: str | None = None
    midi_api: str | None = None
    midi_client: str = "deepnote"
    composer_path: str | None = None
    seed: int = 0
    log_level: int = logging.INFO


def voice_worker_main(settings: VoiceWorkerSettings, commands: mp.Queue,
                      results: mp.Queue) -> None:
    """Entry point of the worker process; returns when told to stop or orphaned."""
    logging.basicConfig(level=settings.log_level, format="deepnote-synth: %(message)s")
    import torch

    from synth.composition import load_composer
    from synth.midi_input import MidiError, MidiInput
    from synth.model_file import ModelFileError, read_metadata
    from synth.torchscript import load_torchscript
    from synth.voice_mixer import VoiceMixer

    torch.set_num_threads(1)
    try:
        metadata = read_metadata(settings.model_path)
        mixer = VoiceMixer(load_torchscript(settings.model_path), metadata, settings.seed)
        composer = (ComposerPlayer(load_composer(settings.composer_path),
                                   metadata["sample_rate"], mixer.allocator.trained_range)
                    if settings.composer_path else None)
        midi = (MidiInput(settings.midi_in, settings.midi_api, settings.midi_client)
                if settings.midi_in else None)
    except (ModelFileError, MidiError) as error:
        results.put(WorkerFailed(str(error)))
        return
    _warn_if_slow(mixer, metadata)
    ring = VoiceRing(settings.ring_size, settings.ring_name, settings.clock_name)
    ring.clock[WORKER_PID] = mp.current_process().pid or 0
    player = _Player(mixer, ring, metadata["sample_rate"], settings.lead_samples)
    results.put(WorkerReady(mp.current_process().pid or 0))
    try:
        _serve(player, commands, midi, composer)
    finally:
        if midi is not None:
            midi.close()
        ring.close()


def _warn_if_slow(mixer: VoiceMixer, metadata: dict) -> None:
    speed = mixer.real_time_factor()
    log.info("voice generates %.2fx real time with all %d voices busy", speed,
             len(mixer.allocator.slots))
    if speed < SLOW_VOICE_FACTOR:
        log.warning("this %s voice is too slow to play %d notes live on this machine "
                    "(%.2fx real time): notes will break up; render MIDI offline with "
                    "--midi-file, or play a SampleRNN voice", metadata.get(
                        "architecture", "samplernn"), len(mixer.allocator.slots), speed)


def _serve(player: _Player, commands: mp.Queue, midi: MidiInput | None,
           composer: ComposerPlayer | None) -> None:
    next_parent_check = 0.0
    while True:
        received, stop = _drain(commands)
        if stop:
            return
        events: list[NoteEvent] = []
        for command in received:
            if isinstance(command, ComposeCommand):
                if composer is None:
                    log.info("no composer loaded; /compose/%s ignored", command.kind)
                else:
                    events.extend(composer.handle(command, player.write_index))
            else:
                events.append(command)
        if midi is not None:
            events.extend(midi.poll())
        if composer is not None:
            events.extend(composer.due_events(player.write_index))
        for event in events:
            apply_event(player.allocator, event)
        if not player.fill():
            time.sleep(IDLE_SLEEP_SECONDS)
        now = time.monotonic()
        if now >= next_parent_check:
            next_parent_check = now + PARENT_CHECK_SECONDS
            if parent_is_gone():
                return


def _drain(commands: mp.Queue) -> tuple[list[NoteEvent | ComposeCommand], bool]:
    events: list[NoteEvent | ComposeCommand] = []
    while True:
        try:
            command = commands.get_nowait()
        except queue.Empty:
            return events, False
        if command is None:
            return events, True
        events.append(command)


class _Player:
    def __init__(self, mixer: VoiceMixer, ring: VoiceRing, rate: int, lead: int) -> None:
        self.mixer = mixer
        self.allocator = mixer.allocator
        self.ring = ring
        self.rate = rate
        self.block = 2 * self.allocator.frame_size  # a multiple of the frame keeps tiers in step
        self.lead = max(lead, self.block)
        self.write_index = self._aligned(ring.estimated_read(rate) + self.lead)
        self._last_block_time = time.monotonic()

    def _aligned(self, index: float) -> int:
        return int(-(-index // self.block) * self.block)

    def fill(self) -> bool:
        """Write one block if the ring is short of its lead; False when nothing was due."""
        # The estimate runs up to a pyo buffer ahead of what pyo has read (it extrapolates
        # between the control loop's looks), so it decides when to write; only a position
        # pyo has really read counts as an underrun.
        read = self.ring.estimated_read(self.rate)
        really_read = self.ring.clock[READ_INDEX]
        if self.write_index < really_read and self.allocator.sounding:
            self.ring.clock[UNDERRUNS] += 1
            self.ring.clock[LATE_SAMPLES] += really_read - self.write_index
            log.debug("voice late by %.1f ms; %.1f ms since the previous block",
                      1000 * (really_read - self.write_index) / self.rate,
                      1000 * (time.monotonic() - self._last_block_time))
        if self.write_index < read:
            jumped_to = self._aligned(read + self.lead)
            self.allocator.skip(jumped_to - self.write_index)
            self.write_index = jumped_to
            # Each write silences one block half a lap ahead; a jump skips those, so the
            # read head could meet sound a lap old there. Silence that half lap now.
            self.ring.clear(self.write_index, self.ring.size // 2 + self.block)
        if self.write_index - read >= self.lead:
            return False
        self.ring.write(self.write_index, self.mixer.next_block(self.block),
                        clear_ahead=self.ring.size // 2)
        self.write_index += self.block
        self._last_block_time = time.monotonic()
        return True
