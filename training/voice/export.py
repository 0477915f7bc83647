"""Export a trained voice as a TorchScript file with a streaming, stateful interface."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from synth.contract.conditioning import FEATURES, PERIOD_TAPS, PITCH, VELOCITY
from synth.contract.model_file import FORMAT_VERSION, KIND_VOICE, validate_metadata
from training.core.checkpoint import CHECKPOINT_NAME, load_checkpoint, load_weights
from training.core.model_file_writer import ExportError, write_model_file
from training.core.run_folder import provenance, read_run_config
from training.core.sampling import gumbel_max
from training.voice.dataset import build_voice_dataset
from training.voice.networks import (
    VoiceModelConfig,
    architecture_of,
    build_voice_network,
    playback_held_offset,
    scripted_bank,
)
from training.voice.quantize import dequantize, quantize
from training.voice.samplernn import (
    CONDITION_FEATURES,
    SampleRNN,
    held_counter,
    period_positions,
)
from training.voice.tuning import tune_voice


def _cell(rnn: nn.GRU) -> nn.GRUCell:
    """The single-step twin of a one-layer GRU, with the same weights."""
    cell = nn.GRUCell(rnn.input_size, rnn.hidden_size)
    weights = rnn.state_dict()
    cell.load_state_dict({name: weights[f"{name}_l0"]
                          for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    return cell


class ScriptedVoice(nn.Module):
    """A bank of ``voices`` generators that advance together, one block at a time.

    ``generate(condition [voices, N, 3], temperature)`` returns audio [voices, N] and keeps
    every recurrent state, so consecutive blocks continue one another. ``reset(voice)`` puts
    one voice back to silence (a new note); the synth starts notes on a 16-sample frame
    boundary (``frame_size``), as the voice was trained. ``history`` keeps the network's
    context: its top frame, or :data:`PERIOD_HISTORY` samples with period taps.
    """

    # compiled out of a voice without period taps
    __constants__ = ["period_taps"]  # noqa: RUF012 (TorchScript reads a plain list)

    if TYPE_CHECKING:  # registered buffers, typed for mypy (TorchScript reads their values)
        class_values: torch.Tensor
        history: torch.Tensor
        top_state: torch.Tensor
        bottom_state: torch.Tensor
        from_top: torch.Tensor
        from_bottom: torch.Tensor

    def __init__(self, model: SampleRNN, voices: int, held_offset: float = 0.0) -> None:
        super().__init__()
        self.top_frame = model.top_frame
        self.bottom_frame = model.bottom_frame
        self.dim = model.dim
        self.levels = model.levels
        self.held_offset = held_offset
        self.voices = voices
        self.position = 0
        self.top_input = model.top_input
        self.top_cell = _cell(model.top_rnn)
        self.top_upsample = model.top_upsample
        self.bottom_input = model.bottom_input
        self.bottom_cell = _cell(model.bottom_rnn)
        self.bottom_upsample = model.bottom_upsample
        self.embedding = model.embedding
        self.sample_input = model.sample_input
        self.sample_mlp = model.sample_mlp
        self.period_taps = model.period_taps
        self.sample_rate = model.sample_rate
        self.pitch_feature = PITCH
        self.period_offsets = list(PERIOD_TAPS)
        if model.period_taps:
            self.period_input = model.period_input
        classes = torch.arange(model.levels)
        self.register_buffer("class_values", dequantize(classes, model.levels,
                                                        model.quantization))
        self.silence = int(quantize(torch.zeros(()), model.levels, model.quantization))
        self.register_buffer("history", torch.full((voices, model.context), self.silence,
                                                   dtype=torch.long))
        self.register_buffer("top_state", torch.zeros(voices, model.dim))
        self.register_buffer("bottom_state", torch.zeros(voices, model.dim))
        self.register_buffer("from_top", torch.zeros(
            voices, model.top_frame // model.bottom_frame, model.dim))
        self.register_buffer("from_bottom", torch.zeros(voices, model.bottom_frame, model.dim))

    def _period_input(self, features: torch.Tensor) -> torch.Tensor:
        now = torch.full([self.voices], self.history.shape[1], dtype=torch.long)
        base, fraction = period_positions(features[:, self.pitch_feature], self.sample_rate,
                                          now)
        rows = torch.arange(self.voices)
        taps: list[torch.Tensor] = []
        for offset in self.period_offsets:
            earlier = self.embedding(self.history[rows, base + offset])
            later = self.embedding(self.history[rows, base + offset + 1])
            taps.append(earlier + fraction[:, None] * (later - earlier))
        return self.period_input(torch.cat(taps, dim=1))

    @torch.jit.export
    def frame_size(self) -> int:
        return self.top_frame

    @torch.jit.export
    def reset_all(self) -> None:
        for voice in range(self.voices):
            self.reset(voice)
        self.position = 0

    @torch.jit.export
    def reset(self, voice: int) -> None:
        self.history[voice] = self.silence
        self.top_state[voice] = 0.0
        self.bottom_state[voice] = 0.0
        self.from_top[voice] = 0.0
        self.from_bottom[voice] = 0.0

    @torch.jit.export
    def network_condition(self, condition: torch.Tensor) -> torch.Tensor:
        """The conditioning [voices, N, 3] as the network reads it (the held offset)."""
        return held_counter(condition, self.held_offset)

    @torch.jit.export
    def generate(self, condition: torch.Tensor, temperature: float) -> torch.Tensor:
        steps = condition.shape[1]
        condition = self.network_condition(condition)
        audio = torch.empty(self.voices, steps)
        top, bottom = self.top_frame, self.bottom_frame
        for index in range(steps):
            features = condition[:, index]
            if self.position % top == 0:
                frame = self.class_values[self.history[:, -top:]]
                self.top_state = self.top_cell(
                    self.top_input(torch.cat([frame, features], dim=1)), self.top_state)
                self.from_top = self.top_upsample(self.top_state).reshape(
                    self.voices, top // bottom, self.dim)
            if self.position % bottom == 0:
                frame = self.class_values[self.history[:, -bottom:]]
                step_in = self.bottom_input(torch.cat([frame, features], dim=1))
                step_in = step_in + self.from_top[:, (self.position % top) // bottom]
                self.bottom_state = self.bottom_cell(step_in, self.bottom_state)
                self.from_bottom = self.bottom_upsample(self.bottom_state).reshape(
                    self.voices, bottom, self.dim)
            embedded = self.embedding(self.history[:, -bottom:]).reshape(self.voices, -1)
            hidden = self.sample_input(torch.cat([embedded, features], dim=1))
            hidden = hidden + self.from_bottom[:, self.position % bottom]
            if self.period_taps:
                hidden = hidden + self._period_input(features)
            logits = self.sample_mlp(hidden)
            chosen = gumbel_max(logits, torch.rand(logits.shape), temperature)
            self.history = torch.cat([self.history[:, 1:], chosen[:, None]], dim=1)
            audio[:, index] = self.class_values[chosen]
            self.position += 1
        return audio

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        return self.generate(condition, 1.0)


def export_voice_run(run_dir: Path, out: Path, voices: int = 4,
                     held_offset: float | None = None, tune: bool = False,
                     post_filter: float = 0.0, low_cut: float = 0.0,
                     level_averaging: int = 0) -> dict[str, Any]:
    """Write the voice file; ``held_offset`` (SampleRNN) defaults to playback_held_offset;
    ``tune`` measures the trained notes' intonation on the exported bank and stores the
    pitch-input shifts that correct it (``training.voice.tuning``); ``post_filter`` is the
    gain of the pitch post-filter the synth puts after the network and ``low_cut`` the
    pitch-following high-pass after it (``synth.voicebank.postfilter``); ``level_averaging``
    (SampleRNN) the classes either side of each drawn one whose levels the synth averages into
    what it plays (``synth.voicebank.sampling.averaged_levels``)."""
    config = read_run_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    model_config = config["model"]
    model = build_voice_network(VoiceModelConfig(
        **{**model_config, "held_out_notes": tuple(model_config["held_out_notes"])}))
    load_weights(model, state, run_dir, "voice", ExportError)
    if held_offset is None:
        held_offset = playback_held_offset(model)
    elif held_offset and not isinstance(model, SampleRNN):
        raise ExportError("--held-offset is for SampleRNN voices; this run is a WaveNet")
    if level_averaging and not isinstance(model, SampleRNN):
        raise ExportError("--level-averaging is for SampleRNN voices; this run is a WaveNet")
    dataset = build_voice_dataset(Path(config["data"]), config["sample_rate"],
                                  config["counter_cap"])
    metadata = {
        "format_version": FORMAT_VERSION,
        "kind": KIND_VOICE,
        "architecture": architecture_of(model),
        "sample_rate": config["sample_rate"],
        "voices": voices,
        "frame_size": context_frame(model),
        "levels": model.levels,
        "quantization": model.quantization,
        "counter_cap": config["counter_cap"],
        "condition_features": list(FEATURES),
        "held_offset": held_offset,
        "post_filter": post_filter,
        "low_cut": low_cut,
        "level_averaging": level_averaging,
        "trained_notes": dataset.notes,
        "held_out_notes": list(model_config["held_out_notes"]),
        **provenance(config, state["step"]),
    }
    validate_metadata(metadata, source="export")
    if tune:
        with tempfile.TemporaryDirectory() as scratch:
            untuned = Path(scratch) / out.name
            write_model_file(scripted_bank(model, voices, held_offset), metadata, untuned,
                             check=check_voice_contract, same_output=_same_generation,
                             carry_weights=True)
            tuning = tune_voice(untuned)
        metadata["pitch_tuning"] = [[row.note, row.shift] for row in tuning]
        metadata["tuning_cents"] = {  # null: no take near the note (nothing to tune by)
            "untuned": [_cents_or_none(row.cents_before) for row in tuning],
            "tuned": [_cents_or_none(row.cents_after) for row in tuning]}
    write_model_file(scripted_bank(model, voices, held_offset), metadata, out,
                     check=check_voice_contract, same_output=_same_generation,
                             carry_weights=True)
    return metadata


def _cents_or_none(cents: float) -> float | None:
    return round(cents, 1) if math.isfinite(cents) else None


def context_frame(model: nn.Module) -> int:
    """The sample grid a note starts on: SampleRNN's top frame, any sample for WaveNet."""
    return model.top_frame if isinstance(model, SampleRNN) else 1


def check_voice_contract(scripted: torch.jit.ScriptModule, metadata: dict[str, Any]) -> None:
    """Silence in, finite audio out, and a reset voice continues where a fresh one would."""
    voices = metadata["voices"]
    condition = torch.zeros(voices, 2 * metadata["frame_size"], CONDITION_FEATURES)
    with torch.no_grad():
        audio = scripted.generate(condition, 1.0)
    scripted.reset_all()  # the file must hold a fresh bank
    if tuple(audio.shape) != (voices, condition.shape[1]) or audio.dtype != torch.float32:
        raise ExportError(f"generate returns {tuple(audio.shape)} {audio.dtype}")
    if not torch.isfinite(audio).all() or audio.abs().max() > 1.0:
        raise ExportError("generate returns values outside [-1, 1]")



def _same_generation(reloaded: torch.jit.ScriptModule, scripted: torch.jit.ScriptModule,
                     metadata: dict[str, Any]) -> bool:
    condition = torch.zeros(metadata["voices"], 3 * metadata["frame_size"], CONDITION_FEATURES)
    condition[:, :, VELOCITY] = 0.8
    outputs = []
    for model in (reloaded, scripted):
        torch.manual_seed(0)
        with torch.no_grad():
            outputs.append(model.generate(condition, 1.0))
        model.reset_all()
    return torch.equal(outputs[0], outputs[1])
