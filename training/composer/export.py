"""Export a trained composer as a TorchScript file that composes step by step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from synth.composer.piano_roll import HELD
from synth.contract.model_file import FORMAT_VERSION, KIND_COMPOSER, validate_metadata
from training.composer.model import ComposerLSTM, roll_features
from training.core.checkpoint import CHECKPOINT_NAME, load_checkpoint, load_weights
from training.core.model_file_writer import ExportError, write_model_file
from training.core.run_folder import provenance, read_run_config
from training.core.sampling import gumbel_max


class ScriptedComposer(nn.Module):
    """A composer with its LSTM state inside: ``step`` takes the roll's current step and
    returns a sampled next one; ``compose`` continues a seed phrase for ``steps`` steps."""

    if TYPE_CHECKING:  # registered buffers, typed for mypy (TorchScript reads their values)
        hidden: torch.Tensor
        cell: torch.Tensor

    def __init__(self, model: ComposerLSTM) -> None:
        super().__init__()
        self.pitches = model.pitches
        self.steps_per_bar = model.steps_per_bar
        self.input = model.input
        self.lstm = model.lstm
        self.output = model.output
        self.register_buffer("hidden", torch.zeros(model.layers, 1, model.hidden))
        self.register_buffer("cell", torch.zeros(model.layers, 1, model.hidden))
        self.step_index = 0

    @torch.jit.export
    def reset(self) -> None:
        self.hidden.zero_()
        self.cell.zero_()
        self.step_index = 0

    @torch.jit.export
    def next_logits(self, states: torch.Tensor) -> torch.Tensor:
        """Feed one step [pitches] (ints); logits [pitches, 3] of the step after it."""
        features = roll_features(states[None, None], self.step_index, self.steps_per_bar)
        out, (self.hidden, self.cell) = self.lstm(torch.relu(self.input(features)),
                                                  (self.hidden, self.cell))
        self.step_index += 1
        return self.output(out[0, 0]).reshape(self.pitches, 3)

    @torch.jit.export
    def step(self, states: torch.Tensor, temperature: float) -> torch.Tensor:
        """The next step, sampled at ``temperature``; a pitch cannot be held after silence
        (such a cell becomes a note start)."""
        logits = self.next_logits(states)
        chosen = gumbel_max(logits, torch.rand(logits.shape), temperature)
        orphaned = (chosen == 2) & (states == 0)  # HELD after SILENT (literals: TorchScript)
        return torch.where(orphaned, torch.full_like(chosen, 1), chosen)  # ONSET

    @torch.jit.export
    def compose(self, seed: torch.Tensor, steps: int, temperature: float) -> torch.Tensor:
        """[steps, pitches] states continuing ``seed`` [T, pitches] (T may be 0)."""
        self.reset()
        current = torch.zeros(self.pitches, dtype=torch.long)
        for index in range(seed.shape[0]):
            if index > 0:
                self.next_logits(current)
            current = seed[index].long()
        composed = torch.empty(steps, self.pitches, dtype=torch.long)
        for index in range(steps):
            current = self.step(current, temperature)
            composed[index] = current
        return composed

    def forward(self, seed: torch.Tensor) -> torch.Tensor:
        return self.compose(seed, 64, 1.0)


def export_composer_run(run_dir: Path, out: Path) -> dict[str, Any]:
    config = read_run_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    model_config = config["model"]
    model = ComposerLSTM(pitches=config["pitches"], steps_per_bar=model_config["steps_per_bar"],
                         hidden=model_config["hidden"], layers=model_config["layers"],
                         dropout=model_config["dropout"])
    load_weights(model, state, run_dir, "composer", ExportError)
    last_eval = state["history"]["eval"][-1] if state["history"]["eval"] else {}
    metadata = {
        "format_version": FORMAT_VERSION,
        "kind": KIND_COMPOSER,
        "sample_rate": 0,  # a composer makes notes, not audio
        "lowest_pitch": config["lowest_pitch"],
        "pitches": config["pitches"],
        "steps_per_quarter": config["steps_per_quarter"],
        "steps_per_bar": model_config["steps_per_bar"],
        "top_line_center": config.get("data_summary", {}).get("top_line_center", 72.0),
        "held_out_evaluation": last_eval,
        **provenance(config, state["step"]),
    }
    validate_metadata(metadata, source="export")
    write_model_file(ScriptedComposer(model.eval()), metadata, out,
                     check=_check_composer, same_output=_same_composition, carry_weights=True)
    return metadata


def _check_composer(scripted: torch.jit.ScriptModule, metadata: dict[str, Any]) -> None:
    with torch.no_grad():
        composed = scripted.compose(torch.zeros(0, metadata["pitches"], dtype=torch.long),
                                    8, 1.0)
    scripted.reset()
    if tuple(composed.shape) != (8, metadata["pitches"]) or int(composed.max()) > HELD:
        raise ExportError(f"compose returns {tuple(composed.shape)} with states "
                          f"{int(composed.min())}..{int(composed.max())}")


def _same_composition(reloaded: torch.jit.ScriptModule, scripted: torch.jit.ScriptModule,
                      metadata: dict[str, Any]) -> bool:
    outputs = []
    for model in (reloaded, scripted):
        torch.manual_seed(0)
        with torch.no_grad():
            outputs.append(model.compose(torch.zeros(1, metadata["pitches"], dtype=torch.long),
                                         16, 1.0))
        model.reset()
    return torch.equal(outputs[0], outputs[1])
