"""The exported composer's LSTM, run step by step in numpy.

The same network as the TorchScript ``ScriptedComposer`` in the file
(training/composer/export.py), from the weights the file carries
(synth.contract.module_weights), so that composing live needs no torch in the voice worker.
A step costs a few products of 256-wide vectors: well under a millisecond.
"""

from __future__ import annotations

import numpy as np

from synth.composer.piano_roll import HELD, ONSET, SILENT, STATES
from synth.contract.module_weights import ModuleWeights
from synth.voicebank.sampling import draw_classes


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


class ComposerNetwork:
    """``reset``, then ``step`` a roll step at a time; ``compose`` continues a phrase."""

    def __init__(self, weights: ModuleWeights, seed: int | None = None) -> None:
        state = {name: np.asarray(value, np.float32)
                 for name, value in weights.state_dict().items()}
        self.pitches = int(weights.pitches)
        self.steps_per_bar = int(weights.steps_per_bar)
        self.input_weight = state["input.weight"].T.copy()
        self.input_bias = state["input.bias"]
        self.layers = []
        layer = 0
        while f"lstm.weight_ih_l{layer}" in state:
            self.layers.append((state[f"lstm.weight_ih_l{layer}"].T.copy(),
                                state[f"lstm.weight_hh_l{layer}"].T.copy(),
                                state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]))
            layer += 1
        self.output_weight = state["output.weight"].T.copy()
        self.output_bias = state["output.bias"]
        size = self.input_bias.shape[0]
        self.hidden = np.zeros((len(self.layers), size), np.float32)
        self.cell = np.zeros((len(self.layers), size), np.float32)
        self.step_index = 0
        self._random = np.random.default_rng(seed)

    def reseed(self, seed: int | None) -> None:
        self._random = np.random.default_rng(seed)

    def reset(self) -> None:
        self.hidden[:] = 0.0
        self.cell[:] = 0.0
        self.step_index = 0

    def next_logits(self, states: np.ndarray) -> np.ndarray:
        """Feed one step [pitches] (states); logits [pitches, 3] of the step after it."""
        metre = np.zeros(self.steps_per_bar, np.float32)
        metre[self.step_index % self.steps_per_bar] = 1.0
        features = np.concatenate([(states == ONSET), (states == HELD)]).astype(np.float32)
        x = np.maximum(np.concatenate([features, metre]) @ self.input_weight + self.input_bias,
                       0.0)
        size = self.hidden.shape[1]
        for index, (w_ih, w_hh, bias) in enumerate(self.layers):
            gates = x @ w_ih + self.hidden[index] @ w_hh + bias  # PyTorch's order: i f g o
            remember = _sigmoid(gates[size:2 * size]) * self.cell[index]
            self.cell[index] = remember + _sigmoid(gates[:size]) * np.tanh(
                gates[2 * size:3 * size])
            self.hidden[index] = _sigmoid(gates[3 * size:]) * np.tanh(self.cell[index])
            x = self.hidden[index]
        self.step_index += 1
        return (x @ self.output_weight + self.output_bias).reshape(self.pitches, STATES)

    def step(self, states: np.ndarray, temperature: float) -> np.ndarray:
        """The next step, sampled at ``temperature``; a pitch cannot be held after silence
        (such a cell becomes a note start)."""
        logits = self.next_logits(states)
        uniforms = self._random.random(self.pitches, dtype=np.float32)
        chosen = draw_classes(logits, 1.0 / temperature, uniforms)
        return np.where((chosen == HELD) & (states == SILENT), ONSET, chosen).astype(np.int64)

    def compose(self, seed_roll: np.ndarray, steps: int, temperature: float) -> np.ndarray:
        """[steps, pitches] states continuing ``seed_roll`` [T, pitches] (T may be 0)."""
        self.reset()
        current = np.zeros(self.pitches, np.int64)
        for index in range(len(seed_roll)):
            if index > 0:
                self.next_logits(current)
            current = seed_roll[index].astype(np.int64)
        composed = np.empty((steps, self.pitches), np.int64)
        for index in range(steps):
            current = self.step(current, temperature)
            composed[index] = current
        return composed
