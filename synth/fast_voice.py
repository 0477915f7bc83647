"""Fast streaming generation for an exported voice, in numpy.

The scripted voice makes a dozen torch calls per sample; at this size their overhead, not
the arithmetic, sets the speed. Here the same network runs as a few numpy calls per sample:
the sample-level input layer is folded into one lookup table per input tap (embedding times
weights, precomputed), the two GRUs are single matrix products per frame, Gumbel noise is
drawn a block at a time, and all voices advance together in one batch.
"""

from __future__ import annotations

import numpy as np
import torch

NOISE_CHUNK = 512


def _numpy(state: dict[str, torch.Tensor], name: str) -> np.ndarray:
    return state[name].detach().cpu().numpy().astype(np.float32)


class FastVoiceBank:
    """``voices`` generators advancing together; same interface as the scripted bank."""

    def __init__(self, scripted: torch.jit.ScriptModule, voices: int, seed: int = 0) -> None:
        state = scripted.state_dict()
        self.top_frame = int(scripted.top_frame)
        self.bottom_frame = int(scripted.bottom_frame)
        self.dim = int(scripted.dim)
        self.voices = voices
        self.class_values = _numpy(state, "class_values")
        self.silence = int(scripted.silence)
        levels = len(self.class_values)
        top, bottom, dim = self.top_frame, self.bottom_frame, self.dim

        top_w = _numpy(state, "top_input.weight")
        self.top_frame_w = top_w[:, :top].T.copy()
        self.top_cond_w = top_w[:, top:].T.copy()
        self.top_b = _numpy(state, "top_input.bias")
        self.top_cell = self._cell(state, "top_cell")
        self.top_up_w = _numpy(state, "top_upsample.weight").T.copy()
        self.top_up_b = _numpy(state, "top_upsample.bias")

        bottom_w = _numpy(state, "bottom_input.weight")
        self.bottom_frame_w = bottom_w[:, :bottom].T.copy()
        self.bottom_cond_w = bottom_w[:, bottom:].T.copy()
        self.bottom_b = _numpy(state, "bottom_input.bias")
        self.bottom_cell = self._cell(state, "bottom_cell")
        self.bottom_up_w = _numpy(state, "bottom_upsample.weight").T.copy()
        self.bottom_up_b = _numpy(state, "bottom_upsample.bias")

        # Sample level: input = concat(embedding of the last `bottom` classes, condition).
        embedding = _numpy(state, "embedding.weight")  # [levels, E]
        sample_w = _numpy(state, "sample_input.weight")  # [dim, bottom * E + 3]
        width = embedding.shape[1]
        self.tap_tables = np.stack([embedding @ sample_w[:, tap * width:(tap + 1) * width].T
                                    for tap in range(bottom)])  # [bottom, levels, dim]
        self.sample_cond_w = sample_w[:, bottom * width:].T.copy()
        self.sample_b = _numpy(state, "sample_input.bias")
        self.mlp = [(_numpy(state, f"sample_mlp.{i}.weight").T.copy(),
                     _numpy(state, f"sample_mlp.{i}.bias")) for i in (1, 3)]
        self.levels = levels
        self._random = np.random.default_rng(seed)
        self._taps = np.arange(bottom)
        self.reset_all()
        del dim

    @staticmethod
    def _cell(state: dict[str, torch.Tensor], prefix: str) -> tuple[np.ndarray, ...]:
        return (_numpy(state, f"{prefix}.weight_ih").T.copy(), _numpy(state, f"{prefix}.bias_ih"),
                _numpy(state, f"{prefix}.weight_hh").T.copy(), _numpy(state, f"{prefix}.bias_hh"))

    def reset_all(self) -> None:
        self.history = np.full((self.voices, self.top_frame), self.silence, np.int64)
        self.top_state = np.zeros((self.voices, self.dim), np.float32)
        self.bottom_state = np.zeros((self.voices, self.dim), np.float32)
        self.from_top = np.zeros((self.voices, self.top_frame // self.bottom_frame, self.dim),
                                 np.float32)
        self.from_bottom = np.zeros((self.voices, self.bottom_frame, self.dim), np.float32)
        self.position = 0

    def reset(self, voice: int) -> None:
        self.history[voice] = self.silence
        for array in (self.top_state, self.bottom_state, self.from_top, self.from_bottom):
            array[voice] = 0.0

    @staticmethod
    def _gru(x: np.ndarray, h: np.ndarray, cell: tuple[np.ndarray, ...]) -> np.ndarray:
        w_ih, b_ih, w_hh, b_hh = cell
        gi = x @ w_ih + b_ih
        gh = h @ w_hh + b_hh
        size = h.shape[1]
        r = 1.0 / (1.0 + np.exp(-(gi[:, :size] + gh[:, :size])))
        z = 1.0 / (1.0 + np.exp(-(gi[:, size:2 * size] + gh[:, size:2 * size])))
        n = np.tanh(gi[:, 2 * size:] + r * gh[:, 2 * size:])
        return (1.0 - z) * n + z * h

    def step_logits(self, condition: np.ndarray) -> np.ndarray:
        """Logits [voices, levels] of the next sample (condition [voices, 3])."""
        top, bottom = self.top_frame, self.bottom_frame
        if self.position % top == 0:
            frame = self.class_values[self.history[:, -top:]]
            x = frame @ self.top_frame_w + condition @ self.top_cond_w + self.top_b
            self.top_state = self._gru(x, self.top_state, self.top_cell)
            self.from_top = (self.top_state @ self.top_up_w + self.top_up_b).reshape(
                self.voices, top // bottom, self.dim)
        if self.position % bottom == 0:
            frame = self.class_values[self.history[:, -bottom:]]
            x = frame @ self.bottom_frame_w + condition @ self.bottom_cond_w + self.bottom_b
            x += self.from_top[:, (self.position % top) // bottom]
            self.bottom_state = self._gru(x, self.bottom_state, self.bottom_cell)
            self.from_bottom = (self.bottom_state @ self.bottom_up_w + self.bottom_up_b).reshape(
                self.voices, bottom, self.dim)
        hidden = self.tap_tables[self._taps, self.history[:, -bottom:]].sum(axis=1)
        hidden += condition @ self.sample_cond_w + self.sample_b
        hidden += self.from_bottom[:, self.position % bottom]
        for weight, bias in self.mlp:
            hidden = np.maximum(hidden, 0.0) @ weight + bias
        return hidden

    def push(self, classes: np.ndarray) -> None:
        self.history[:, :-1] = self.history[:, 1:]
        self.history[:, -1] = classes
        self.position += 1

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Audio [voices, N] for condition [voices, N, 3]; every state carries on."""
        steps = condition.shape[1]
        condition = np.ascontiguousarray(condition, dtype=np.float32)
        audio = np.empty((self.voices, steps), np.float32)
        inverse = 1.0 / temperature
        for chunk in range(0, steps, NOISE_CHUNK):
            # Noise for a chunk at a time: one draw, small enough to stay in cache.
            count = min(NOISE_CHUNK, steps - chunk)
            uniform = self._random.random((count, self.voices, self.levels), dtype=np.float32)
            gumbel = -np.log(-np.log(uniform + 1e-12) + 1e-12)
            for offset in range(count):
                logits = self.step_logits(condition[:, chunk + offset])
                chosen = np.argmax(logits * inverse + gumbel[offset], axis=1)
                self.push(chosen)
                audio[:, chunk + offset] = self.class_values[chosen]
        return audio
