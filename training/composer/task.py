"""The LSTM composer as a task for the shared training loop."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from synth.composer.piano_roll import RollRange, write_roll_midi
from training.composer.dataset import ComposerDataset
from training.composer.model import ComposerLSTM, focal_loss, onset_precision_recall
from training.core.checkpoint import cpu_model
from training.core.plots import plot_loss_curve

PREVIEW_BARS = 4
PREVIEW_TEMPO_BPM = 90.0


@dataclass(frozen=True)
class ComposerConfig:
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.2
    steps_per_bar: int = 16
    window: int = 64  # steps per training window (plus the one step it predicts)
    window_hop: int = 16
    transpose: int = 3  # training copies shifted by -3..+3 semitones
    held_out_every: int = 10  # every 10th file (by name) is held out
    gamma: float = 2.0  # focal loss exponent


def transposed(roll: np.ndarray, semitones: int) -> np.ndarray:
    """The roll shifted up by ``semitones``; notes pushed out of the range are dropped."""
    if semitones == 0:
        return roll
    shifted = np.zeros_like(roll)
    if semitones > 0:
        shifted[:, semitones:] = roll[:, :-semitones]
    else:
        shifted[:, :semitones] = roll[:, -semitones:]
    return shifted


def cut_windows(rolls: list[np.ndarray], config: ComposerConfig,
                shifts: range) -> torch.Tensor:
    """[N, window + 1] windows of every roll and transposition, starting on bar lines."""
    span = config.window + 1
    windows = []
    for roll in rolls:
        padded = roll if len(roll) >= span else np.pad(roll, ((0, span - len(roll)), (0, 0)))
        for shift in shifts:
            moved = transposed(padded, shift)
            for start in range(0, len(moved) - span + 1, config.window_hop):
                windows.append(moved[start:start + span])
    return torch.from_numpy(np.stack(windows).astype(np.int64))


class ComposerTask:
    def __init__(self, dataset: ComposerDataset, config: ComposerConfig, run_dir: Path) -> None:
        self.dataset, self.config, self.run_dir = dataset, config, run_dir
        held = [i % config.held_out_every == 0 for i in range(len(dataset.rolls))]
        if len(dataset.rolls) < 2:
            held = [False] * len(dataset.rolls)
        self.train_rolls = [r for r, h in zip(dataset.rolls, held, strict=True) if not h]
        self.test_rolls = [r for r, h in zip(dataset.rolls, held, strict=True) if h]
        self.train = cut_windows(self.train_rolls, config,
                                 range(-config.transpose, config.transpose + 1))
        self.test = cut_windows(self.test_rolls or self.train_rolls, config, range(0, 1))
        self.train_size = len(self.train)
        self.fingerprint = hashlib.sha256(self.train.numpy().tobytes()).hexdigest()[:16]

    def build_model(self) -> nn.Module:
        return ComposerLSTM(pitches=self.dataset.roll_range.pitches,
                            steps_per_bar=self.config.steps_per_bar, hidden=self.config.hidden,
                            layers=self.config.layers, dropout=self.config.dropout)

    def batch(self, indices: torch.Tensor, device: torch.device) -> torch.Tensor:
        return self.train[indices].to(device)

    def training_loss(self, model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        logits, _ = model(batch[:, :-1])
        return focal_loss(logits, batch[:, 1:], self.config.gamma), {}

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        windows = self.test.to(device)
        logits, _ = model(windows[:, :-1])
        targets = windows[:, 1:]
        cross_entropy = functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 targets.reshape(-1))
        scope = "held_out" if self.test_rolls else "train"
        scores = onset_precision_recall(logits, targets)
        return {f"{scope}_focal_loss": focal_loss(logits, targets, self.config.gamma).item(),
                f"{scope}_bits_per_cell": cross_entropy.item() / math.log(2),
                **{f"{scope}_{name}": value for name, value in scores.items()}}

    def write_evaluation_outputs(self, model: nn.Module, step: int, history: dict) -> None:
        from training.composer.export import ScriptedComposer

        key = next(k for k in history["eval"][-1] if k.endswith("focal_loss"))
        plot_loss_curve(history, self.run_dir / "loss.png", eval_key=key)
        seed_roll = (self.test_rolls or self.train_rolls)[0][:self.config.steps_per_bar]
        composer = ScriptedComposer(cast(ComposerLSTM, cpu_model(model).eval()))
        torch.manual_seed(step)
        with torch.no_grad():
            composed = composer.compose(torch.from_numpy(seed_roll.astype(np.int64)),
                                        PREVIEW_BARS * self.config.steps_per_bar, 1.0)
        roll_range: RollRange = self.dataset.roll_range
        previews = self.run_dir / "previews"
        write_roll_midi(np.concatenate([seed_roll, composed.numpy()]),
                        previews / f"step{step:06d}.mid", roll_range, PREVIEW_TEMPO_BPM)
        model.train()

