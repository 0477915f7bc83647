"""The SampleRNN voice's per-sample loop, compiled with numba.

In numpy a sample costs about fifteen calls on arrays of a few hundred numbers, and their
overhead is most of the time. Compiled, the loop makes no Python calls: the large products
(GRU gates, upsampling, the sample-level MLP) go to BLAS through numba's ``np.dot``, which
needs scipy; the small ones and the gates run as plain loops. The weights arrive folded by
:class:`synth.voicebank.samplernn.FastVoiceBank` (the sample-level input layer as one lookup table
per input tap); a tier's weights come as the tuple :meth:`synth.voicebank.samplernn._Tier.weights`.
"""

from __future__ import annotations

import numba
import numpy as np

from synth.contract.conditioning import MIDDLE_C_HZ, PERIOD_HISTORY, PERIOD_TAPS, PITCH
from synth.voicebank.compiled_sampling import averaged_level, draw_class

# numba reads module globals as compile-time constants
_FIRST_TAP = PERIOD_TAPS[0]
_SHORTEST_PERIOD, _LONGEST_PERIOD = 3.0, PERIOD_HISTORY - 2.0


@numba.njit(cache=True, fastmath=True, nogil=True)
def _accumulate(inputs: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    """out[v] += inputs[v] @ weight, for the small products (a frame, the condition)."""
    for k in range(weight.shape[0]):
        for voice in range(inputs.shape[0]):
            value = inputs[voice, k]
            for j in range(weight.shape[1]):
                out[voice, j] += value * weight[k, j]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _affine(inputs: np.ndarray, weight: np.ndarray, bias: np.ndarray, out: np.ndarray) -> None:
    """out = inputs @ weight + bias; the product through BLAS, which at these sizes is about
    three times faster than a compiled loop."""
    np.dot(inputs, weight, out)
    for voice in range(out.shape[0]):
        out[voice] += bias


@numba.njit(cache=True, fastmath=True, nogil=True, inline="always")
def _tanh(x: float) -> float:
    """tanh as a rational function, within a few float32 ulps (Eigen's fast tanh): libm's
    tanh is not vectorised and was half the time of a tier's step."""
    x = min(max(x, -7.9053111076354980), 7.9053111076354980)
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = x2 * p - 8.60467152213735e-11
    p = x2 * p + 5.12229709037114e-08
    p = x2 * p + 1.48572235717979e-05
    p = x2 * p + 6.37261928875436e-04
    p = x2 * p + 4.89352455891786e-03
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = x2 * q + 2.26843463243900e-03
    q = x2 * q + 4.89352518554385e-03
    return x * p / q


@numba.njit(cache=True, fastmath=True, nogil=True)
def _tier_step(weights: tuple, frame: np.ndarray, condition: np.ndarray, above: np.ndarray,
               hidden: np.ndarray, outputs: np.ndarray, x: np.ndarray, gi: np.ndarray,
               gh: np.ndarray) -> None:
    """One frame of a tier for every voice: ``hidden`` [V, D] and ``outputs`` [V, O * D]
    in place; ``above`` [V, D] is the tier above's output for this frame (zeros at the top);
    ``x`` [V, D], ``gi`` and ``gh`` [V, 3D] are scratch.
    """
    frame_w, condition_w, bias, w_ih, b_ih, w_hh, b_hh, up_w, up_b = weights
    voices, size = hidden.shape
    for voice in range(voices):
        x[voice] = above[voice] + bias
    _accumulate(frame, frame_w, x)
    _accumulate(condition, condition_w, x)
    _affine(x, w_ih, b_ih, gi)
    _affine(hidden, w_hh, b_hh, gh)
    for voice in range(voices):
        for j in range(size):
            # sigmoid(a) = (1 + tanh(a / 2)) / 2
            reset = 0.5 + 0.5 * _tanh(0.5 * (gi[voice, j] + gh[voice, j]))
            update = 0.5 + 0.5 * _tanh(0.5 * (gi[voice, size + j] + gh[voice, size + j]))
            candidate = _tanh(gi[voice, 2 * size + j] + reset * gh[voice, 2 * size + j])
            hidden[voice, j] = (1.0 - update) * candidate + update * hidden[voice, j]
    _affine(hidden, up_w, up_b, outputs)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _add_period_taps(period_tables: np.ndarray, history: np.ndarray, pitch_feature: float,
                     sample_rate: float, out: np.ndarray) -> None:
    """out += the period taps' input for one voice (history [context], the newest last);
    the numba twin of ``FastVoiceBank._period_input``."""
    period = sample_rate / (MIDDLE_C_HZ * 2.0 ** pitch_feature)
    period = min(max(period, _SHORTEST_PERIOD), _LONGEST_PERIOD)
    back = history.shape[0] - period
    base = int(np.floor(back))
    fraction = np.float32(back - base)
    for tap in range(period_tables.shape[0]):
        position = base + _FIRST_TAP + tap
        earlier = period_tables[tap, history[position]]
        later = period_tables[tap, history[position + 1]]
        for j in range(out.shape[0]):
            out[j] += earlier[j] + fraction * (later[j] - earlier[j])


@numba.njit(cache=True, fastmath=True, nogil=True)
def generate_block(history: np.ndarray, top_state: np.ndarray, bottom_state: np.ndarray,
                   from_top: np.ndarray, from_bottom: np.ndarray, position: int,
                   top_weights: tuple, bottom_weights: tuple, tap_tables: np.ndarray,
                   sample_condition_w: np.ndarray, sample_b: np.ndarray,
                   hidden_w: np.ndarray, hidden_b: np.ndarray, output_w: np.ndarray,
                   output_b: np.ndarray, class_values: np.ndarray, period_tables: np.ndarray,
                   sample_rate: float, condition: np.ndarray, uniforms: np.ndarray,
                   inverse_temperature: float, level_spread: int, audio: np.ndarray,
                   start: int) -> int:
    """Generate ``len(uniforms)`` samples for every voice into ``audio[:, start:]`` from
    ``condition[:, start:]``; updates the state arrays in place, returns the new position.
    ``level_spread``: the classes either side of the drawn one whose levels are averaged
    into what is played (:func:`synth.voicebank.sampling.averaged_levels`).

    Shapes: history [V, context] (classes, the newest last), top_state and bottom_state
    [V, D], from_top [V, top frame / bottom frame, D], from_bottom [V, bottom frame, D],
    tap_tables [bottom frame, levels, D], period_tables [period taps or 0, levels, D],
    condition [V, N, F], uniforms [count, V].
    """
    voices, width = history.shape
    top = from_top.shape[1] * tap_tables.shape[0]
    bottom = tap_tables.shape[0]
    size = top_state.shape[1]
    levels = output_b.shape[0]
    features = condition.shape[2]
    frame = np.empty((voices, top), np.float32)
    bottom_frame = np.empty((voices, bottom), np.float32)
    now = np.empty((voices, features), np.float32)
    zeros = np.zeros((voices, size), np.float32)
    above = np.empty((voices, size), np.float32)
    top_out = from_top.reshape(voices, -1)
    bottom_out = from_bottom.reshape(voices, -1)
    sample_in = np.empty((voices, size), np.float32)
    hidden = np.empty((voices, size), np.float32)
    logits = np.empty((voices, levels), np.float32)
    x = np.empty((voices, size), np.float32)
    gi = np.empty((voices, 3 * size), np.float32)
    gh = np.empty((voices, 3 * size), np.float32)
    candidates = np.empty(levels, np.int64)
    weights = np.empty(levels, np.float32)
    for step in range(uniforms.shape[0]):
        for voice in range(voices):
            now[voice] = condition[voice, start + step]
        if position % top == 0:
            for voice in range(voices):
                for k in range(top):
                    frame[voice, k] = class_values[history[voice, width - top + k]]
            _tier_step(top_weights, frame, now, zeros, top_state, top_out, x, gi, gh)
        if position % bottom == 0:
            subframe = (position % top) // bottom
            for voice in range(voices):
                for k in range(bottom):
                    bottom_frame[voice, k] = class_values[history[voice, width - bottom + k]]
                above[voice] = from_top[voice, subframe]
            _tier_step(bottom_weights, bottom_frame, now, above, bottom_state, bottom_out, x,
                       gi, gh)
        for voice in range(voices):
            sample_in[voice] = sample_b + from_bottom[voice, position % bottom]
            for tap in range(bottom):
                sample_in[voice] += tap_tables[tap, history[voice, width - bottom + tap]]
            if period_tables.shape[0]:
                _add_period_taps(period_tables, history[voice], now[voice, PITCH], sample_rate,
                                 sample_in[voice])
        _accumulate(now, sample_condition_w, sample_in)
        np.maximum(sample_in, 0.0, sample_in)
        _affine(sample_in, hidden_w, hidden_b, hidden)
        np.maximum(hidden, 0.0, hidden)
        _affine(hidden, output_w, output_b, logits)
        for voice in range(voices):
            chosen = draw_class(logits[voice], inverse_temperature, uniforms[step, voice],
                               candidates, weights)
            for k in range(width - 1):
                history[voice, k] = history[voice, k + 1]
            history[voice, width - 1] = chosen
            audio[voice, start + step] = averaged_level(logits[voice], chosen, level_spread,
                                                        inverse_temperature, class_values)
        position += 1
    return position
