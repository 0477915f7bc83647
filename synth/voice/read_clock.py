"""Where pyo's read head is in the voice ring, as the voice worker sees it.

The writer needs two positions: how far pyo has read (to fill the ring ahead of it), and the
earliest position where input can still be heard (a key press is applied there). The control
loop publishes the read head every few milliseconds; between looks it can only be guessed.

- :class:`EstimatedReadClock` extrapolates the last look with the wall clock. It is off by up
  to a look's interval and an audio buffer either way, so input goes a safety margin (the
  lead) beyond it; it works with any audio backend.
- :class:`JackCycleClock` reads JACK's frame counter. pyo computes one JACK period per cycle,
  so the read head moves in steps at known frames: input pressed during a cycle can start at
  the very first sample of the next one, if the worker has time to write it before that cycle
  begins. The looks the control loop publishes only tie the ring's positions to JACK frames.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from synth.voice.ring import READ_INDEX, READ_TIME, VoiceRing

log = logging.getLogger("deepnote.voice")

ESTIMATED_LEAD_MS = 12.0  # the read head extrapolated between the control loop's looks
JACK_LEAD_MS = 2.0  # JACK's cycle clock: time to write the first blocks before the cycle
TIE_WINDOW_SECONDS = 1.0
LATE_STEP_MS = 1.0  # the lead grows by this each time the writer is late ...
EASE_STEP_MS = 0.25  # ... and shrinks back by this for every EASE_SECONDS without lateness
EASE_SECONDS = 1.0
FRAME_COUNTER_RANGE = 1 << 32  # jack_nframes_t wraps after about a day at 48 kHz


class ReadClockUnavailable(RuntimeError):
    """JACK's clock cannot be read (no JACK-Client, no libjack, no server)."""


class ReadClock(Protocol):
    def read_position(self) -> float:
        """The ring position (model samples) pyo's read head has reached, or reaches in
        the audio cycle under way."""
        ...

    def input_position(self) -> float:
        """The earliest ring position where input that arrives now can be heard."""
        ...

    def late(self) -> None:
        """The writer fell behind the read head: input should land further ahead."""
        ...

    def close(self) -> None: ...


class EstimatedReadClock:
    def __init__(self, ring: VoiceRing, rate: int, lead: int) -> None:
        self.ring = ring
        self.rate = rate
        self.lead = lead

    def read_position(self) -> float:
        return self.ring.estimated_read(self.rate)

    def input_position(self) -> float:
        return self.read_position() + self.lead

    def late(self) -> None:
        pass  # the lead is the performer's setting, with the estimate's error inside it

    def close(self) -> None:
        pass


class JackCycleClock:
    """The read head from JACK's cycle clock, through a JACK client with no ports.

    Each look the control loop publishes is a ring position that pyo had reached by some
    moment in the cycle the worker sees it in; the earliest such tie (the smallest offset
    between JACK frames and ring positions) is the exact one, as a look is never taken
    before the position it reports was computed. Ties older than TIE_WINDOW_SECONDS are
    forgotten, so the clock follows pyo when a lost cycle or the phasor's rounding moves it.

    The lead adapts as a network jitter buffer does: each time the writer is late (the
    worker was short of CPU between a key press and the cycle it aimed at) it grows by
    LATE_STEP_MS, up to ESTIMATED_LEAD_MS, and for every EASE_SECONDS without lateness it
    shrinks by EASE_STEP_MS, down to the lead asked for. (Counting inputs on time instead
    kept a lead grown by a burst of xruns for the rest of a sparse performance: the latency
    benchmark's 160 key events never brought it back.) ``seconds`` is the clock the easing
    follows (a test's own).
    """

    def __init__(self, ring: VoiceRing, rate: int, lead_seconds: float,
                 client_name: str, seconds: Callable[[], float] = time.monotonic) -> None:
        try:
            import jack  # only under JACK; the estimate serves every other backend
        except (ImportError, OSError) as error:  # JACK-Client, or libjack, is missing
            raise ReadClockUnavailable(str(error)) from error
        try:
            self._client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as error:
            raise ReadClockUnavailable(str(error)) from error
        self.ring = ring
        self.rate = rate
        self._jack_rate = float(self._client.samplerate)
        self._lead_floor = self._lead_frames = lead_seconds * self._jack_rate
        self._seconds = seconds
        self._eased_at = seconds()
        self._fallback = EstimatedReadClock(ring, rate, round(lead_seconds * rate))
        self._ties: deque[tuple[float, float]] = deque()  # (when, frames - ring position)
        self._offset: float | None = None
        self._last_look = 0.0
        self._last_raw_frame: int | None = None
        self._frames = 0.0

    def read_position(self) -> float:
        if not self._tied():
            return self._fallback.read_position()
        cycle_start, period = self._cycle()
        return self._ring_position(cycle_start + period)

    def input_position(self) -> float:
        if not self._tied():
            return self._fallback.input_position()
        cycle_start, period = self._cycle()
        now = self._unwrapped(self._client.frame_time)
        start = cycle_start + period
        while start - now < self._lead_frames:
            start += period
        log.debug("voice: input seen at JACK frame %d lands on frame %d", now, start)
        self._ease()
        return self._ring_position(start)

    @property
    def lead_ms(self) -> float:
        return 1000 * self._lead_frames / self._jack_rate

    def late(self) -> None:
        self._eased_at = self._seconds()
        ceiling = max(self._lead_floor, ESTIMATED_LEAD_MS / 1000 * self._jack_rate)
        self._lead_frames = min(ceiling, self._lead_frames + LATE_STEP_MS / 1000
                                * self._jack_rate)
        log.debug("voice: input now lands on cycles at least %.2f ms away", self.lead_ms)

    def close(self) -> None:
        self._client.close()

    def _ease(self) -> None:
        steps = int((self._seconds() - self._eased_at) / EASE_SECONDS)
        if steps > 0:
            self._eased_at += steps * EASE_SECONDS
            self._lead_frames = max(self._lead_floor, self._lead_frames
                                    - steps * EASE_STEP_MS / 1000 * self._jack_rate)

    def _ring_position(self, frame: float) -> float:
        assert self._offset is not None
        return (frame - self._offset) * self.rate / self._jack_rate

    def _cycle(self) -> tuple[float, int]:
        return self._unwrapped(self._client.last_frame_time), self._client.blocksize

    def _tied(self) -> bool:
        """Take in the control loop's newest look; False until there is one."""
        look = float(self.ring.clock[READ_TIME])
        if look != self._last_look and look != 0.0:
            self._last_look = look
            cycle_start, period = self._cycle()
            # pyo has computed up to this cycle's end at most: any earlier look only makes
            # the offset larger than it is.
            read = self.ring.clock[READ_INDEX] * self._jack_rate / self.rate
            offset = cycle_start + period - read
            now = time.monotonic()
            self._ties.append((now, offset))
            while self._ties[0][0] < now - TIE_WINDOW_SECONDS:
                self._ties.popleft()
            self._offset = min(tie for _, tie in self._ties)
        return self._offset is not None

    def _unwrapped(self, raw: int) -> float:
        """JACK's 32-bit frame counter as a count that does not wrap."""
        if self._last_raw_frame is None:
            self._last_raw_frame, self._frames = raw, float(raw)
        step = (raw - self._last_raw_frame + FRAME_COUNTER_RANGE // 2) % FRAME_COUNTER_RANGE \
            - FRAME_COUNTER_RANGE // 2
        self._last_raw_frame = raw
        self._frames += step
        return self._frames
