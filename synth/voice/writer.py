"""Keeps the voice ring filled ahead of pyo's read head, and takes back what it wrote ahead
when someone plays.

Two distances from the read head matter. The *input position* is how soon a key press is
heard: the read clock (:mod:`synth.voice.read_clock`) says where input can still take effect,
a lead beyond the read head. The *horizon* is how far the writer fills while
nothing new happens: a held chord is written well ahead, so a burst of late audio cycles
(the JACK dummy driver runs two or three at once after a late one) reads sound that is
already there. When input arrives, the writer restores the model and note state it had at
the input position (a snapshot is kept for every block written ahead), applies the input there,
and writes on from that point. What it had written ahead stays in the ring until rewritten:
if the read head gets there first it hears the note as it would have gone on, not silence.
Events applied after that point (a composer's notes, earlier input) are applied again, in
order, at the samples they were applied at before.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from synth.voice.notes import NoteEvent, apply_event
from synth.voice.read_clock import ReadClock
from synth.voice.ring import LATE_SAMPLES, READ_INDEX, UNDERRUNS, VoiceRing

if TYPE_CHECKING:
    from synth.voice.mixer import MixerState, VoiceMixer

log = logging.getLogger("deepnote.voice")


MIN_BLOCK = 32  # samples: 2 ms at 16 kHz; a snapshot is kept per block written ahead
# (16 lands input 0.5 ms sooner on average, but costs the worker 40% more CPU a block)


def writer_block(frame_size: int) -> int:
    """The writer's block: a whole number of the voice's frames (which keeps the tiers in
    step) and at least MIN_BLOCK samples, so that a voice with a one-sample frame (the
    WaveNet) does not keep a snapshot every sample or two (it held 529 MB while running
    ahead)."""
    return frame_size * -(-MIN_BLOCK // frame_size)


class VoiceWriter:
    def __init__(self, mixer: VoiceMixer, ring: VoiceRing, clock: ReadClock, rate: int,
                 horizon: int) -> None:
        self.mixer = mixer
        self.allocator = mixer.allocator
        self.ring = ring
        self.clock = clock
        self.rate = rate
        self.frame = self.allocator.frame_size
        self.block = writer_block(self.frame)
        self.horizon = max(horizon, self.block)
        self.write_index = self._aligned(clock.input_position())
        self.rewinds = 0
        self._last_block_time = self._last_rewind_time = time.monotonic()
        self._snapshots: deque[tuple[int, MixerState]] = deque()  # state before each block
        self._applied: deque[tuple[int, NoteEvent]] = deque()  # events since the oldest one
        self._replay: deque[tuple[int, NoteEvent]] = deque()  # to apply again, in order

    def _aligned(self, index: float) -> int:
        """The first position on the voice's frame grid at or after ``index``: input lands
        there, not on the next block (a JACK cycle starts anywhere on the block grid, and
        waiting for a block cost up to 2 ms of latency)."""
        return int(-(-index // self.frame) * self.frame)

    def play(self, events: list[NoteEvent]) -> None:
        """Input from a player: heard from the input position, not after what was written
        ahead."""
        if events:
            self.rewind()
            self._replay_due()  # what was applied here before goes first, as it came
            self.apply(events)

    def rewind(self) -> None:
        """Take back what was written beyond the input position (the next input belongs
        there)."""
        target = self._aligned(self.clock.input_position())
        if target >= self.write_index:
            return
        while self._snapshots and self._snapshots[-1][0] > target:
            self._snapshots.pop()
        if not self._snapshots:
            return
        index, state = self._snapshots[-1]
        self.mixer.restore(state)
        again = [entry for entry in self._applied if entry[0] >= index]
        while self._applied and self._applied[-1][0] >= index:
            self._applied.pop()
        self._replay = deque(again + list(self._replay))
        self.write_index = index
        self.rewinds += 1
        self._last_rewind_time = time.monotonic()
        if target > index:  # the target lies inside the block: write up to it
            self._write(target - index)

    def withdraw_composed(self) -> None:
        """Forget the composer's events that a rewind took back: after a stop or a new start
        at the input position they never happened (played again, they would start notes that
        nothing releases)."""
        self._replay = deque(entry for entry in self._replay if not entry[1].composed)

    def apply(self, events: list[NoteEvent]) -> None:
        """Apply ``events`` where the writer is now (scheduled ones, such as a composer's)."""
        self._mark()
        for event in events:
            apply_event(self.allocator, event)
            self._applied.append((self.write_index, event))

    def fill(self) -> bool:
        """Write one block if the ring is short of its horizon; False when nothing was due."""
        # The clock's read position runs up to a pyo buffer ahead of what pyo has read, so it
        # decides when to write; only a position pyo has really read counts as an underrun.
        read = self.clock.read_position()
        really_read = self.ring.clock[READ_INDEX]
        if self.write_index < really_read and self.allocator.sounding:
            self.ring.clock[UNDERRUNS] += 1
            self.ring.clock[LATE_SAMPLES] += really_read - self.write_index
            now = time.monotonic()
            log.debug("voice late by %.1f ms; %.1f ms since the previous block, %.1f ms since "
                      "the last rewind; read %.1f (estimated %.1f), written to %d, %d blocks "
                      "in hand", 1000 * (really_read - self.write_index) / self.rate,
                      1000 * (now - self._last_block_time), 1000 * (now - self._last_rewind_time),
                      really_read, read, self.write_index, len(self._snapshots))
        if self.write_index < read:
            if self.allocator.sounding:
                self.clock.late()
            jumped_to = self._aligned(max(self.clock.input_position(), read))
            self.allocator.skip(jumped_to - self.write_index)
            self.write_index = jumped_to
            self._snapshots.clear()
            # Each write silences one block half a lap ahead; a jump skips those, so the
            # read head could meet sound a lap old there. Silence that half lap now.
            self.ring.clear(self.write_index, self.ring.size // 2 + self.block)
        self._forget_before(read)
        if self.write_index - read >= self.horizon:
            return False
        self._write(self.block)
        return True

    def _write(self, length: int) -> None:
        self._replay_due()  # also keeps the state before this block
        self.ring.write(self.write_index, self.mixer.next_block(length),
                        clear_ahead=self.ring.size // 2)
        self.write_index += length
        self._last_block_time = time.monotonic()

    def _replay_due(self) -> None:
        """Apply again what a rewind took back and is due at the write index."""
        due = []
        while self._replay and self._replay[0][0] <= self.write_index:
            due.append(self._replay.popleft()[1])
        self.allocator.announce = False  # steals and transpositions were logged the first time
        try:
            self.apply(due)
        finally:
            self.allocator.announce = True

    def _mark(self) -> None:
        """Keep the state before the block at the write index (once per block)."""
        if not self._snapshots or self._snapshots[-1][0] != self.write_index:
            self._snapshots.append((self.write_index, self.mixer.snapshot()))

    def _forget_before(self, read: float) -> None:
        """Drop what no rewind can reach: blocks the read head has passed."""
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= read:
            self._snapshots.popleft()
        oldest = self._snapshots[0][0] if self._snapshots else self.write_index
        while self._applied and self._applied[0][0] < oldest:
            self._applied.popleft()
