"""The WaveNet voice's per-sample loop, compiled with numba.

A WaveNet sample is about 135,000 multiply-adds spread over 16 small layers; in numpy each
layer is a handful of calls whose overhead, not the arithmetic, sets the speed (about
175 us a sample here). Compiled, the same arithmetic runs as plain loops the compiler
vectorises. The weights arrive already folded by :class:`synth.voicebank.wavenet.FastWaveNetBank`
(sigmoid through tanh, the condition's gate contribution precomputed for the block).
"""

from __future__ import annotations

import numba
import numpy as np

from synth.voicebank.compiled_sampling import draw_class


@numba.njit(cache=True, fastmath=True, nogil=True)
def generate_block(last: np.ndarray, queues: np.ndarray, dilations: np.ndarray,
                   position: int, taps: np.ndarray, condition_gates: np.ndarray,
                   residual_weights: np.ndarray, residual_bias: np.ndarray,
                   skip_weights: np.ndarray, skip_bias: np.ndarray, hidden_weight: np.ndarray,
                   hidden_bias: np.ndarray, output_weight: np.ndarray, output_bias: np.ndarray,
                   embedding: np.ndarray, uniforms: np.ndarray, inverse_temperature: float,
                   class_values: np.ndarray, audio: np.ndarray, offset: int) -> int:
    """Generate ``len(condition_gates)`` samples for every voice into ``audio[:, offset:]``;
    updates ``last`` and ``queues`` in place and returns the new position.

    Shapes: queues [L, V, longest dilation, C], taps [L, 2C, 2C] (rows: past then present),
    condition_gates [N, V, L, 2C], residual_weights [L, C, C], skip_weights [L, C, S],
    uniforms [N, V].
    """
    layers, voices, _, channels = queues.shape
    skip_channels = skip_bias.shape[0]
    levels = output_bias.shape[0]
    x = np.empty(channels, np.float32)
    gates = np.empty(2 * channels, np.float32)
    gated = np.empty(channels, np.float32)
    skip = np.empty(skip_channels, np.float32)
    hidden = np.empty(skip_channels, np.float32)
    logits = np.empty(levels, np.float32)
    candidates = np.empty(levels, np.int64)
    weights = np.empty(levels, np.float32)
    for step in range(condition_gates.shape[0]):
        for voice in range(voices):
            x[:] = embedding[last[voice]]
            skip[:] = skip_bias
            for layer in range(layers):
                slot = position % dilations[layer]
                gates[:] = condition_gates[step, voice, layer]
                for k in range(channels):
                    past_k = queues[layer, voice, slot, k]
                    present_k = x[k]
                    for j in range(2 * channels):
                        gates[j] += (past_k * taps[layer, k, j]
                                     + present_k * taps[layer, channels + k, j])
                queues[layer, voice, slot, :] = x
                for j in range(channels):
                    gated[j] = np.tanh(gates[j]) * (1.0 + np.tanh(gates[channels + j]))
                for k in range(channels):
                    gated_k = gated[k]
                    for j in range(channels):
                        x[j] += gated_k * residual_weights[layer, k, j]
                    for j in range(skip_channels):
                        skip[j] += gated_k * skip_weights[layer, k, j]
                for j in range(channels):
                    x[j] += residual_bias[layer, j]
            hidden[:] = hidden_bias
            for k in range(skip_channels):
                value = max(skip[k], 0.0)
                for j in range(skip_channels):
                    hidden[j] += value * hidden_weight[k, j]
            logits[:] = output_bias
            for k in range(skip_channels):
                value = max(hidden[k], 0.0)
                for j in range(levels):
                    logits[j] += value * output_weight[k, j]
            chosen = draw_class(logits, inverse_temperature, uniforms[step, voice],
                                candidates, weights)
            last[voice] = chosen
            audio[voice, offset + step] = class_values[chosen]
        position += 1
    return position
