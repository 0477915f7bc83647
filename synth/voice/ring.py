"""The shared memory between the voice worker and the audio process.

Two segments, both created and unlinked by the audio process:

- the ring: ``size`` float32 samples at the model's rate plus pyo's guard point, mapped by
  pyo as a ``SharedTable`` that a phasor reads round and round; the worker writes into it
  ahead of the read head;
- the clock: a few float64 counters. The audio process publishes how far pyo has read and
  when it looked; the worker publishes how far it has written and how often it was late.

Positions are absolute sample counts at the model's rate (the ring index is the count modulo
``size``), so neither side can confuse one lap of the ring with the next.
"""

from __future__ import annotations

import time
from multiprocessing.shared_memory import SharedMemory

import numpy as np

RING_SECONDS = 2.0
READ_INDEX, READ_TIME, WRITE_INDEX, UNDERRUNS, LATE_SAMPLES, WORKER_PID = range(6)
CLOCK_FIELDS = 8


def ring_size(sample_rate: int) -> int:
    """A power of two of about RING_SECONDS, so the ring index is exact in float32."""
    return 1 << int(np.ceil(np.log2(sample_rate * RING_SECONDS)))


class VoiceRing:
    """Views onto the two segments; ``create`` in the audio process, attach in the worker."""

    def __init__(self, size: int, ring_name: str | None = None,
                 clock_name: str | None = None) -> None:
        create = ring_name is None
        self.size = size
        self._ring_memory = SharedMemory(name=ring_name, create=create, size=(size + 1) * 4)
        self._clock_memory = SharedMemory(name=clock_name, create=create,
                                          size=CLOCK_FIELDS * 8)
        self.samples = np.ndarray(size + 1, np.float32, buffer=self._ring_memory.buf)
        self.clock = np.ndarray(CLOCK_FIELDS, np.float64, buffer=self._clock_memory.buf)
        self._owner = create
        if create:
            self.samples[:] = 0.0
            self.clock[:] = 0.0

    @property
    def ring_name(self) -> str:
        return self._ring_memory.name

    @property
    def clock_name(self) -> str:
        return self._clock_memory.name

    # Audio process -----------------------------------------------------------------------

    def publish_read(self, read_index: float) -> None:
        self.clock[READ_TIME] = time.monotonic()
        self.clock[READ_INDEX] = read_index

    # Worker ------------------------------------------------------------------------------

    def estimated_read(self, sample_rate: int) -> float:
        """Where pyo's read head is now, extrapolated from its last published position."""
        read_time, read_index = self.clock[READ_TIME], self.clock[READ_INDEX]
        if read_time == 0.0:
            return read_index
        return read_index + (time.monotonic() - read_time) * sample_rate

    def write(self, start: int, block: np.ndarray, clear_ahead: int) -> None:
        """Write ``block`` at absolute sample ``start``; silence ``clear_ahead`` samples
        further on, so a read head that overtakes the writer plays silence, not old sound."""
        self._put(start, block)
        self._put(start + len(block) + clear_ahead, np.zeros(len(block), np.float32))
        self.clock[WRITE_INDEX] = start + len(block)

    def clear(self, start: int, length: int) -> None:
        """Silence ``length`` samples from absolute sample ``start`` (at most one lap)."""
        self._put(start, np.zeros(min(length, self.size), np.float32))

    def _put(self, start: int, block: np.ndarray) -> None:
        index = start % self.size
        first = min(len(block), self.size - index)
        self.samples[index:index + first] = block[:first]
        self.samples[:len(block) - first] = block[first:]
        self.samples[self.size] = self.samples[0]  # pyo's guard point for interpolation

    def close(self) -> None:
        del self.samples, self.clock
        for memory in (self._ring_memory, self._clock_memory):
            memory.close()
            if self._owner:
                memory.unlink()
