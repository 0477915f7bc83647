"""The pyo signal graph: two granulators that cross-fade between grain tables.

The note voice's signal, when there is one, joins after the grains' limiter, at the ceiling:
the limiter looks 4 ms ahead, which delays everything passing through it by as much, over a
third of a played note's latency budget (issue 17).

A new table is always written into the silent voice's table, never into the one a grain is
reading; then the voices cross-fade. A table that arrives during a fade waits for it to end
(only the newest waits). Every control is smoothed; the output goes through a DC blocker, a
limiter and a hard ceiling at -1 dBFS, with a fade in at start and a fade out at stop.
The voice passes a DC blocker and the ceiling, not the limiter: its notes come at velocity
times the voice volume, well under the ceiling, and the ceiling still bounds the sum.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("PYO_GUI_WX", "0")  # pyo's GUI hint is noise on a stage laptop
import pyo

CEILING = 10 ** (-1.05 / 20)  # just under -1 dBFS
CROSSFADE_SECONDS = 0.08
SMOOTHING_SECONDS = 0.05
FADE_IN_SECONDS = 0.3
FADE_OUT_SECONDS = 0.25
LIMITER_LOOKAHEAD_MS = 4.0  # the grains only: what passes the limiter is this much later


@dataclass
class GrainControls:
    """The granulator's parameters, in the units of the OSC table."""

    pos: float = 0.5
    pitch: float = 1.0
    dur: float = 0.08
    density: float = 40.0
    jitter: float = 0.05
    volume: float = 0.7
    scan_speed: float = 0.0


class GrainEngine:
    def __init__(self, model_rate: int, server_rate: int, table_samples: int,
                 channels: int = 2, voice: pyo.PyoObject | None = None) -> None:
        self.model_rate = model_rate
        self.rate_ratio = model_rate / server_rate
        self.controls = GrainControls()
        self._tables = [pyo.DataTable(size=table_samples) for _ in range(2)]
        self._buffers = [np.asarray(table.getBuffer()) for table in self._tables]
        self._lengths = [0, 0]
        self._active = 1
        self._fade_until = 0.0
        self._pending: np.ndarray | None = None
        self.tables_loaded = 0

        c = self.controls
        self._pos = pyo.SigTo(c.pos, SMOOTHING_SECONDS)
        self._pitch = pyo.SigTo(c.pitch * self.rate_ratio, SMOOTHING_SECONDS)
        self._dur = pyo.SigTo(c.dur, SMOOTHING_SECONDS)
        self._density = pyo.SigTo(c.density, SMOOTHING_SECONDS)
        self._jitter = pyo.SigTo(c.jitter, SMOOTHING_SECONDS)
        self._volume = pyo.SigTo(c.volume, SMOOTHING_SECONDS)
        self._overlap_gain = pyo.SigTo(self._overlap_normaliser(), SMOOTHING_SECONDS)
        # Each smoothed control and the factor from the OSC unit to the signal's unit.
        self._smoothed = {"pos": (self._pos, 1.0), "pitch": (self._pitch, self.rate_ratio),
                          "dur": (self._dur, 1.0), "density": (self._density, 1.0),
                          "jitter": (self._jitter, 1.0), "volume": (self._volume, 1.0)}
        self._scan = pyo.Phasor(freq=0.0)
        # Linear ramps under a square root: an equal-power cross-fade, since two decoded
        # tables are uncorrelated (a linear one would dip by 3 dB halfway).
        self._gains = [pyo.SigTo(0.0, CROSSFADE_SECONDS) for _ in range(2)]
        self._spans = [pyo.SigTo(1.0, SMOOTHING_SECONDS) for _ in range(2)]
        self._envelope = pyo.HannTable()
        self._noise = pyo.Noise()
        self._voices = []
        for index in range(2):
            position = pyo.Wrap(self._scan + self._pos + self._noise * self._jitter, 0.0, 1.0)
            self._voices.append(pyo.Particle(
                self._tables[index], self._envelope, dens=self._density, pitch=self._pitch,
                pos=position * self._spans[index], dur=self._dur, dev=0.0, pan=0.5, chnls=1,
                mul=pyo.Sqrt(pyo.Clip(self._gains[index], 0.0, 1.0)) * self._overlap_gain))
        mix = pyo.Mix(self._voices, voices=1) * self._volume
        self._dc_blocked = pyo.DCBlock(mix)
        self._limited = pyo.Compress(self._dc_blocked, thresh=-8, ratio=20, risetime=0.002,
                                     falltime=0.15, lookahead=LIMITER_LOOKAHEAD_MS, knee=0.4)
        summed = self._limited
        if voice is not None:  # the note voice shares the ceiling and the fades
            self._voice_dc_blocked = pyo.DCBlock(voice)
            summed = self._limited + self._voice_dc_blocked
        self._master = pyo.SigTo(0.0, FADE_IN_SECONDS)
        self._ceiling = pyo.Clip(summed, -CEILING, CEILING, mul=self._master)
        self.output = self._ceiling.mix(channels)

    def start(self) -> None:
        self.output.out()
        self._master.setValue(1.0)

    def fade_out(self) -> float:
        """Start the fade out; returns how long it takes."""
        self._master.setTime(FADE_OUT_SECONDS)
        self._master.setValue(0.0)
        return FADE_OUT_SECONDS

    # Tables -----------------------------------------------------------------------------

    def offer_table(self, samples: np.ndarray, now: float) -> None:
        """Queue a decoded table (copied now); it plays after any cross-fade under way."""
        self._pending = np.array(samples[: len(self._buffers[0])], dtype=np.float32)
        self.tick(now)

    def tick(self, now: float) -> None:
        if self._pending is None or now < self._fade_until:
            return
        incoming = 1 - self._active
        samples, self._pending = self._pending, None
        buffer = self._buffers[incoming]
        buffer[: len(samples)] = samples
        buffer[len(samples):] = 0.0
        self._lengths[incoming] = len(samples)
        self._update_span(incoming)
        self._gains[incoming].setValue(1.0)
        self._gains[self._active].setValue(0.0)
        self._active = incoming
        self._fade_until = now + CROSSFADE_SECONDS + 0.01
        self._update_scan_rate()
        self.tables_loaded += 1

    # Controls ---------------------------------------------------------------------------

    def set_control(self, name: str, value: float) -> None:
        setattr(self.controls, name, value)
        if name in self._smoothed:
            signal, factor = self._smoothed[name]
            signal.setValue(value * factor)
        elif name == "scan_speed":
            self._update_scan_rate()
        if name in ("dur", "density"):
            self._overlap_gain.setValue(self._overlap_normaliser())
        if name in ("dur", "pitch"):
            for index in range(2):
                self._update_span(index)

    def silence(self) -> None:
        """Panic: volume to zero at once (the next /volume brings it back)."""
        self.controls.volume = 0.0
        self._volume.setTime(0.005)
        self._volume.setValue(0.0)
        self._volume.setTime(SMOOTHING_SECONDS)

    def _overlap_normaliser(self) -> float:
        # Overlapping grains of unrelated phase add in power, not in amplitude.
        return float(1.0 / np.sqrt(max(1.0, self.controls.density * self.controls.dur)))

    def _update_span(self, index: int) -> None:
        # Keep a grain's whole read inside the table's valid part.
        read = self.controls.dur * self.model_rate * self.controls.pitch
        self._spans[index].setValue(max(1.0, self._lengths[index] - read - 2))

    def _update_scan_rate(self) -> None:
        length = max(1, self._lengths[self._active])
        self._scan.setFreq(self.controls.scan_speed * self.model_rate / length)
