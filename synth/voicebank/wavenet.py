"""Fast streaming generation for an exported WaveNet voice.

The weights are folded once: the two kernel taps become one matrix on [past, present];
sigmoid is computed through tanh (sigmoid(a) = (1 + tanh(a / 2)) / 2, the halves folded
into the weights); the condition's contribution to every layer is computed for a whole block
in one product. Generation then runs compiled (:mod:`synth.voicebank.wavenet_kernel`, numba) where
numba is installed, or as a handful of numpy calls per layer on all voices at once, which
is the reference the compiled loop is tested against (about 3.5 times slower for one voice;
models/voice-wavenet-speed.json).
"""

from __future__ import annotations

import numpy as np

from synth.contract.module_weights import ModuleWeights
from synth.voicebank.samplernn import NOISE_CHUNK, compiled_kernel, float32_weight
from synth.voicebank.sampling import draw_classes
from synth.voicebank.state import Rewindable


class FastWaveNetBank(Rewindable):
    """``voices`` WaveNet generators advancing together; the scripted bank's interface."""

    STATE_ARRAYS = ("queues", "last")

    def __init__(self, weights: ModuleWeights, voices: int, seed: int = 0,
                 compiled: bool = True) -> None:
        state = weights.state_dict()
        self.voices = voices
        self.dilations = [int(d) for d in weights.dilations]
        channels = self.channels = int(weights.channels)
        self.silence = int(weights.silence)
        self.class_values = float32_weight(state, "class_values")
        self.levels = len(self.class_values)
        self.embedding = float32_weight(state, "embedding.weight")
        self.rest = float32_weight(state, "rest")
        # Gate half pre-scaled by 1/2, so one tanh gives both tanh(f) and 2 * sigmoid(g) - 1.
        gate_scale = np.concatenate([np.ones(channels), np.full(channels, 0.5)]).astype(
            np.float32)
        taps, condition_weights, gate_biases, residual_weights, skip_weights = [], [], [], [], []
        residual_bias, skip_biases = [], []
        for index in range(len(self.dilations)):
            prefix = f"layers.{index}."
            past = float32_weight(state, prefix + "past_tap.weight").T
            present = float32_weight(state, prefix + "present_tap.weight").T
            taps.append(np.concatenate([past, present]) * gate_scale)  # [2C, 2C]
            condition_weights.append(float32_weight(state, prefix + "condition_tap.weight").T
                                     * gate_scale)  # [F, 2C]
            gate_biases.append(float32_weight(state, prefix + "present_tap.bias") * gate_scale)
            # gated = tanh(f) * sigmoid(g) = tanh(f) * (1 + t_g) / 2: the 1/2 goes here.
            output = float32_weight(state, prefix + "output.weight").T * 0.5  # [C, C + S]
            bias = float32_weight(state, prefix + "output.bias")
            residual_weights.append(output[:, :channels].copy())
            residual_bias.append(bias[:channels])
            skip_weights.append(output[:, channels:])
            skip_biases.append(bias[channels:])
        self.taps = np.stack(taps)  # [L, 2C, 2C]
        self.condition_weights = np.stack(condition_weights, axis=1)  # [F, L, 2C]
        self.gate_biases = np.stack(gate_biases)  # [L, 2C]
        self.residual_weights = np.stack(residual_weights)  # [L, C, C]
        self.residual_bias = np.stack(residual_bias)  # [L, C]
        self.layer_skip_weights = np.ascontiguousarray(np.stack(skip_weights))  # [L, C, S]
        self.skip_weights = self.layer_skip_weights.reshape(-1, self.layer_skip_weights.shape[2])
        self.skip_bias = np.asarray(sum(skip_biases, np.float32(0.0)), np.float32)
        self.head = [(float32_weight(state, f"head.{i}.weight").T.copy(),
                      float32_weight(state, f"head.{i}.bias")) for i in (1, 3)]
        self._dilation_array = np.asarray(self.dilations, np.int64)
        self._kernel = compiled_kernel("wavenet_kernel") if compiled else None
        self._random = np.random.default_rng(seed)
        self._pair = np.zeros((voices, 2 * channels), np.float32)
        self._gated = np.zeros((voices, len(self.dilations) * channels), np.float32)
        self.reset_all()

    @property
    def compiled(self) -> bool:
        return self._kernel is not None

    def reset_all(self) -> None:
        # Layer l's queue is the first dilation[l] slots of its row (a ring).
        self.queues = np.ascontiguousarray(np.broadcast_to(
            self.rest[:, None, None, :],
            (len(self.dilations), self.voices, max(self.dilations), self.channels)))
        self.last = np.full(self.voices, self.silence, np.int64)
        self.position = 0

    def reset(self, voice: int) -> None:
        self.queues[:, voice] = self.rest[:, None, :]
        self.last[voice] = self.silence

    def step_logits(self, condition_gates: np.ndarray) -> np.ndarray:
        """Logits [voices, levels] of the next sample, given the condition's contribution
        to every layer's gates [voices, L, 2C] (see :meth:`condition_gates`)."""
        channels = self.channels
        pair, gated = self._pair, self._gated
        x = self.embedding[self.last]
        for index, dilation in enumerate(self.dilations):
            queue = self.queues[index]  # [V, longest dilation, C]; the ring is :dilation
            slot = self.position % dilation
            pair[:, :channels] = queue[:, slot]
            pair[:, channels:] = x
            queue[:, slot] = x
            gates = pair @ self.taps[index]
            gates += condition_gates[:, index]
            np.tanh(gates, out=gates)
            block = gated[:, index * channels:(index + 1) * channels]
            np.multiply(gates[:, :channels], gates[:, channels:] + 1.0, out=block)
            x = x + block @ self.residual_weights[index] + self.residual_bias[index]
        hidden = gated @ self.skip_weights + self.skip_bias
        for weight, bias in self.head:
            hidden = np.maximum(hidden, 0.0) @ weight + bias
        return hidden

    def condition_gates(self, condition: np.ndarray) -> np.ndarray:
        """[voices, N, F] conditioning -> [N, voices, L, 2C] gate contributions."""
        gates = np.einsum("vnf,flc->nvlc", condition, self.condition_weights)
        return gates + self.gate_biases

    def push(self, classes: np.ndarray) -> None:
        self.last = classes
        self.position += 1

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Audio [voices, N] for condition [voices, N, F]; every state carries on."""
        steps = condition.shape[1]
        condition = np.ascontiguousarray(condition, dtype=np.float32)
        audio = np.empty((self.voices, steps), np.float32)
        inverse = 1.0 / temperature
        for chunk in range(0, steps, NOISE_CHUNK):
            count = min(NOISE_CHUNK, steps - chunk)
            uniforms = self._random.random((count, self.voices), dtype=np.float32)
            gates = self.condition_gates(condition[:, chunk:chunk + count])
            if self._kernel is not None:
                self.position = self._kernel(
                    self.last, self.queues, self._dilation_array, self.position, self.taps,
                    np.ascontiguousarray(gates, np.float32), self.residual_weights,
                    self.residual_bias, self.layer_skip_weights, self.skip_bias,
                    *self.head[0], *self.head[1], self.embedding, uniforms,
                    np.float32(inverse), self.class_values, audio, chunk)
                continue
            for offset in range(count):
                logits = self.step_logits(gates[offset])
                chosen = draw_classes(logits, inverse, uniforms[offset])
                self.push(chosen)
                audio[:, chunk + offset] = self.class_values[chosen]
        return audio
