"""Fast streaming generation for an exported voice, in numpy.

The scripted voice makes a dozen torch calls per sample; at this size their overhead, not
the arithmetic, sets the speed. Here the same network runs as a few numpy calls per sample:
the sample-level input layer is folded into one lookup table per input tap (embedding times
weights, precomputed), the two GRUs are single matrix products per frame, the random numbers
are drawn a block at a time, and all voices advance together in one batch. Where numba is
installed, generation runs that arithmetic compiled
(:mod:`synth.voicebank.samplernn_kernel`); the numpy path is the reference it is tested against.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from synth.contract.conditioning import PERIOD_TAPS, PITCH, pitch_period, raise_held_counter
from synth.contract.module_weights import ModuleWeights
from synth.voicebank.sampling import averaged_levels, draw_classes
from synth.voicebank.state import Rewindable

NOISE_CHUNK = 512


def float32_weight(state: dict[str, np.ndarray], name: str) -> np.ndarray:
    """One array of a bank's weights as float32 (the banks of both architectures)."""
    return np.asarray(state[name], np.float32)


def compiled_kernel(module: str) -> Any:
    """``generate_block`` of the numba kernel ``synth.voicebank.<module>``; None where numba is
    missing (the banks' numpy path)."""
    try:
        kernel = importlib.import_module(f"synth.voicebank.{module}")
    except ImportError:
        return None
    return kernel.generate_block


class FastVoiceBank(Rewindable):
    """``voices`` generators advancing together; same interface as the scripted bank."""

    STATE_ARRAYS = ("history", "top_state", "bottom_state", "from_top", "from_bottom")

    def __init__(self, weights: ModuleWeights, voices: int, seed: int = 0,
                 compiled: bool = True, level_averaging: int = 0) -> None:
        """``level_averaging``: the classes either side of each drawn one whose levels are
        averaged into what is played (:func:`synth.voicebank.sampling.averaged_levels`)."""
        state = weights.state_dict()
        self.level_averaging = level_averaging
        self.top_frame = int(weights.top_frame)
        self.bottom_frame = int(weights.bottom_frame)
        self.dim = int(weights.dim)
        self.voices = voices
        # Files from before the held offset have no such attribute: no offset.
        self.held_offset = float(getattr(weights, "held_offset", 0.0))
        self.class_values = float32_weight(state, "class_values")
        self.silence = int(weights.silence)
        levels = len(self.class_values)
        top, bottom, dim = self.top_frame, self.bottom_frame, self.dim

        self.top = _Tier(state, "top", top, top // bottom, dim)
        self.bottom = _Tier(state, "bottom", bottom, bottom, dim)

        # Sample level: input = concat(embedding of the last `bottom` classes, condition).
        embedding = float32_weight(state, "embedding.weight")  # [levels, E]
        sample_w = float32_weight(state, "sample_input.weight")  # [dim, bottom * E + 3]
        width = embedding.shape[1]
        self.tap_tables = np.stack([embedding @ sample_w[:, tap * width:(tap + 1) * width].T
                                    for tap in range(bottom)])  # [bottom, levels, dim]
        self.sample_cond_w = sample_w[:, bottom * width:].T.copy()
        self.sample_b = float32_weight(state, "sample_input.bias")
        # Files from before the period taps have none: no tables, a top frame of history.
        self.period_taps = bool(getattr(weights, "period_taps", False))
        self.sample_rate = int(getattr(weights, "sample_rate", 16000))
        self.context = int(state["history"].shape[1])
        self.period_tables = np.zeros((0, len(embedding), dim), np.float32)
        if self.period_taps:
            period_w = float32_weight(state, "period_input.weight")  # [dim, taps * E]
            self.period_tables = np.stack([
                embedding @ period_w[:, tap * width:(tap + 1) * width].T
                for tap in range(len(PERIOD_TAPS))])  # [taps, levels, dim]
        self.mlp = [(float32_weight(state, f"sample_mlp.{i}.weight").T.copy(),
                     float32_weight(state, f"sample_mlp.{i}.bias")) for i in (1, 3)]
        self.levels = levels
        self._random = np.random.default_rng(seed)
        self._taps = np.arange(bottom)
        self._kernel = compiled_kernel("samplernn_kernel") if compiled else None
        self.reset_all()

    @property
    def compiled(self) -> bool:
        return self._kernel is not None

    def reset_all(self) -> None:
        self.history = np.full((self.voices, self.context), self.silence, np.int64)
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

    def network_condition(self, condition: np.ndarray) -> np.ndarray:
        """The file's conditioning [..., 3] as the network reads it (the held offset)."""
        return raise_held_counter(condition, self.held_offset)

    def step_logits(self, condition: np.ndarray) -> np.ndarray:
        """Logits [voices, levels] of the next sample (condition [voices, features]).

        ``condition`` is one sample of :meth:`network_condition`.
        """
        top, bottom = self.top_frame, self.bottom_frame
        if self.position % top == 0:
            frame = self.class_values[self.history[:, -top:]]
            self.top_state, self.from_top = self.top.step(frame, condition, 0.0,
                                                          self.top_state)
        if self.position % bottom == 0:
            frame = self.class_values[self.history[:, -bottom:]]
            above = self.from_top[:, (self.position % top) // bottom]
            self.bottom_state, self.from_bottom = self.bottom.step(frame, condition, above,
                                                                   self.bottom_state)
        hidden = self.tap_tables[self._taps, self.history[:, -bottom:]].sum(axis=1)
        hidden += condition @ self.sample_cond_w + self.sample_b
        hidden += self.from_bottom[:, self.position % bottom]
        if self.period_taps:
            hidden += self._period_input(condition)
        for weight, bias in self.mlp:
            hidden = np.maximum(hidden, 0.0) @ weight + bias
        return hidden

    def _period_input(self, condition: np.ndarray) -> np.ndarray:
        back = self.context - pitch_period(condition[:, PITCH].astype(np.float64),
                                           self.sample_rate)
        base = np.floor(back).astype(np.int64)
        fraction = (back - base).astype(np.float32)[:, None]
        rows = np.arange(self.voices)
        total = np.zeros((self.voices, self.dim), np.float32)
        for tap, offset in enumerate(PERIOD_TAPS):
            earlier = self.period_tables[tap, self.history[rows, base + offset]]
            later = self.period_tables[tap, self.history[rows, base + offset + 1]]
            total += earlier + fraction * (later - earlier)
        return total

    def push(self, classes: np.ndarray) -> None:
        self.history[:, :-1] = self.history[:, 1:]
        self.history[:, -1] = classes
        self.position += 1

    def generate(self, condition: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Audio [voices, N] for condition [voices, N, 3]; every state carries on."""
        steps = condition.shape[1]
        condition = self.network_condition(condition)
        audio = np.empty((self.voices, steps), np.float32)
        inverse = 1.0 / temperature
        for chunk in range(0, steps, NOISE_CHUNK):
            # Noise for a chunk at a time: one call to the generator.
            count = min(NOISE_CHUNK, steps - chunk)
            uniforms = self._random.random((count, self.voices), dtype=np.float32)
            if self._kernel is not None:
                self.position = self._kernel(
                    self.history, self.top_state, self.bottom_state, self.from_top,
                    self.from_bottom, self.position, self.top.weights(),
                    self.bottom.weights(), self.tap_tables, self.sample_cond_w,
                    self.sample_b, *self.mlp[0], *self.mlp[1], self.class_values,
                    self.period_tables, float(self.sample_rate), condition, uniforms,
                    np.float32(inverse), self.level_averaging, audio, chunk)
                continue
            for offset in range(count):
                logits = self.step_logits(condition[:, chunk + offset])
                chosen = draw_classes(logits, inverse, uniforms[offset])
                self.push(chosen)
                audio[:, chunk + offset] = averaged_levels(
                    logits, chosen, self.level_averaging, inverse, self.class_values)
        return audio


class _Tier:
    """One frame-rate tier: input layer, GRU cell and upsampling, as numpy arrays."""

    def __init__(self, state: dict[str, np.ndarray], name: str, frame: int, outputs: int,
                 dim: int) -> None:
        weight = float32_weight(state, f"{name}_input.weight")
        self.frame_weight = weight[:, :frame].T.copy()
        self.condition_weight = weight[:, frame:].T.copy()
        self.bias = float32_weight(state, f"{name}_input.bias")
        self.w_ih = float32_weight(state, f"{name}_cell.weight_ih").T.copy()
        self.b_ih = float32_weight(state, f"{name}_cell.bias_ih")
        self.w_hh = float32_weight(state, f"{name}_cell.weight_hh").T.copy()
        self.b_hh = float32_weight(state, f"{name}_cell.bias_hh")
        self.up_weight = float32_weight(state, f"{name}_upsample.weight").T.copy()
        self.up_bias = float32_weight(state, f"{name}_upsample.bias")
        self.outputs, self.dim = outputs, dim

    def weights(self) -> tuple[np.ndarray, ...]:
        """The arrays the kernel's ``generate_block`` takes for this tier."""
        return (self.frame_weight, self.condition_weight, self.bias, self.w_ih, self.b_ih,
                self.w_hh, self.b_hh, self.up_weight, self.up_bias)

    def step(self, frame: np.ndarray, condition: np.ndarray, above: np.ndarray | float,
             hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New hidden state and the per-subframe outputs [voices, outputs, dim]."""
        x = frame @ self.frame_weight + condition @ self.condition_weight + self.bias + above
        gi = x @ self.w_ih + self.b_ih
        gh = hidden @ self.w_hh + self.b_hh
        size = self.dim
        reset = 1.0 / (1.0 + np.exp(-(gi[:, :size] + gh[:, :size])))
        update = 1.0 / (1.0 + np.exp(-(gi[:, size:2 * size] + gh[:, size:2 * size])))
        candidate = np.tanh(gi[:, 2 * size:] + reset * gh[:, 2 * size:])
        hidden = (1.0 - update) * candidate + update * hidden
        output = (hidden @ self.up_weight + self.up_bias).reshape(len(hidden), self.outputs,
                                                                   self.dim)
        return hidden, output
