"""A pitch post-filter on the voice's output, as speech codecs put after their decoders.

Every output sample is averaged with the samples one, two, three and four periods of the
asked pitch earlier, weighted 1, g, g^2, g^3, g^4. A held note repeats itself every period,
so its harmonics pass unchanged, while the noise the network samples between and around the
harmonics is taken down (at g = 1, white noise by 7 dB, and all of it at the points a fifth
of the way between two harmonics). The filter is outside the autoregression: the network
keeps hearing what it generated. A note's attack is spread over the four periods (12 to
50 ms over E2..E4), about as long as the instrument's own. The gain is chosen at export and
stored in the voice file (``post_filter``); 0 leaves the voice as the network made it.

The average passes 0 Hz as it passes a harmonic, so the rumble the network samples below the
note's fundamental comes through it. A note of a pitched instrument has nothing down there:
a second-order high-pass that follows the asked pitch (cut-off ``low_cut`` times the
fundamental, stored in the file; 0.7 costs the fundamental under 1 dB) takes it away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from synth.contract.conditioning import PERIOD_HISTORY, PITCH, pitch_period
from synth.voicebank.state import BankState

if TYPE_CHECKING:
    from synth.voicebank.open import VoiceBank

HISTORY_KEY = "post_filter_history"
LOW_CUT_KEY = "post_filter_low_cut_state"
PERIODS = 4  # how many periods back the average reaches (see models/voice.md)


class PostFilteredBank:
    """A bank whose every voice goes through the pitch post-filter."""

    def __init__(self, bank: VoiceBank, voices: int, sample_rate: int, gain: float,
                 low_cut: float = 0.0) -> None:
        self.bank = bank
        self.sample_rate = sample_rate
        self.gain = gain
        self.low_cut = low_cut
        self._history = np.zeros((voices, PERIODS * PERIOD_HISTORY), np.float32)  # raw output
        self._low_cut_state = np.zeros((voices, 2), np.float64)

    def reset(self, voice: int) -> None:
        self.bank.reset(voice)
        self._history[voice] = 0.0
        self._low_cut_state[voice] = 0.0

    def reset_all(self) -> None:
        self.bank.reset_all()
        self._history[:] = 0.0
        self._low_cut_state[:] = 0.0

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        raw = self.bank.generate(condition, temperature)
        voices, length = raw.shape
        period = pitch_period(condition[:voices, :length, PITCH].astype(np.float64),
                              self.sample_rate)
        out = np.empty((voices, length), np.float32)
        _filter(raw.astype(np.float32), period, self.gain, self._history[:voices], out)
        if self.low_cut > 0.0:
            _cut_below(out, period, self.low_cut, self._low_cut_state[:voices])
        return out

    def snapshot(self) -> BankState:
        inner = self.bank.snapshot()
        return BankState({**inner.arrays, HISTORY_KEY: self._history.copy(),
                          LOW_CUT_KEY: self._low_cut_state.copy()}, inner.position,
                         inner.random)

    def restore(self, state: BankState) -> None:
        arrays = dict(state.arrays)
        self._history = arrays.pop(HISTORY_KEY).copy()
        self._low_cut_state = arrays.pop(LOW_CUT_KEY).copy()
        self.bank.restore(BankState(arrays, state.position, state.random))


@numba.njit(cache=True, nogil=True)
def _low_cut_coefficients(cutoff_ratio: float, period: float) -> tuple[float, float, float]:
    """(b0, a1, a2) of the Butterworth high-pass at ``cutoff_ratio`` times the fundamental
    of a ``period`` samples long (the audio EQ cookbook's, normalised; b1 = -2 b0, b2 = b0)."""
    w0 = 2.0 * np.pi * min(cutoff_ratio / period, 0.45)
    cos, alpha = np.cos(w0), np.sin(w0) / np.sqrt(2.0)
    a0 = 1.0 + alpha
    return (1.0 + cos) / 2.0 / a0, -2.0 * cos / a0, (1.0 - alpha) / a0


@numba.njit(cache=True, nogil=True)
def _filter(raw: np.ndarray, period: np.ndarray, gain: float, history: np.ndarray,
            out: np.ndarray) -> None:
    """``out`` = the filtered ``raw`` [voices, length]; ``history`` (the raw samples before
    it, newest last) moves on by ``length``. Compiled: in numpy the filter cost the voice
    worker as much as the network for small blocks."""
    voices, length = raw.shape
    kept = history.shape[1]
    weight = 0.0
    for periods in range(PERIODS + 1):
        weight += gain ** periods
    signal = np.empty(kept + length, np.float32)
    for voice in range(voices):
        signal[:kept] = history[voice]
        signal[kept:] = raw[voice]
        for n in range(length):
            total = float(raw[voice, n])
            for periods in range(1, PERIODS + 1):
                back = kept + n - periods * period[voice, n]
                before = int(np.floor(back))
                fraction = back - before
                total += gain ** periods * (signal[before] * (1.0 - fraction)
                                            + signal[before + 1] * fraction)
            out[voice, n] = total / weight
        history[voice] = signal[length:]


@numba.njit(cache=True, nogil=True)
def _cut_below(audio: np.ndarray, period: np.ndarray, ratio: float, state: np.ndarray) -> None:
    """The pitch-following high-pass, in place on ``audio`` [voices, length]; the cut-off
    follows each block's mean period (a bend moves it with the note)."""
    voices, length = audio.shape
    for voice in range(voices):
        mean_period = 0.0
        for n in range(length):
            mean_period += period[voice, n]
        b0, a1, a2 = _low_cut_coefficients(ratio, mean_period / length)
        s1, s2 = state[voice, 0], state[voice, 1]
        for n in range(length):
            x = float(audio[voice, n])
            y = b0 * x + s1
            s1 = -2.0 * b0 * x - a1 * y + s2
            s2 = b0 * x - a2 * y
            audio[voice, n] = y
        state[voice, 0], state[voice, 1] = s1, s2
