"""The LSTM composer: reads a piano roll step by step and predicts, for every pitch, whether
the next step starts a note there, holds it, or is silent.

Input per step: which pitches start, which are held (2 x pitches), and where the step falls
in the bar (one-hot of ``steps_per_bar``), so the model can learn metre. Output per step:
[pitches, 3] logits for the next step. The roll is mostly silence, so training uses the focal
loss (Lin et al. 2017), which weighs down the easy, certain silent cells.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from synth.composer.piano_roll import HELD, ONSET, SILENT, STATES

if (SILENT, ONSET, HELD) != (0, 1, 2):
    raise ImportError("the scripted composer hard-codes the roll states 0, 1, 2")


class ComposerLSTM(nn.Module):
    def __init__(self, *, pitches: int = 48, steps_per_bar: int = 16, hidden: int = 256,
                 layers: int = 2, dropout: float = 0.2) -> None:
        super().__init__()
        self.pitches, self.steps_per_bar = pitches, steps_per_bar
        self.hidden, self.layers = hidden, layers
        self.input = nn.Linear(2 * pitches + steps_per_bar, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.output = nn.Linear(hidden, pitches * STATES)

    def forward(self, roll: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None,
                first_step: int = 0) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits [B, T, pitches, 3] of steps 1..T given steps 0..T-1, and the LSTM state."""
        inputs = torch.relu(self.input(roll_features(roll, first_step, self.steps_per_bar)))
        hidden, state = self.lstm(inputs, state)
        logits = self.output(hidden).reshape(roll.shape[0], roll.shape[1], self.pitches,
                                             STATES)
        return logits, state


def roll_features(roll: torch.Tensor, first_step: int, steps_per_bar: int) -> torch.Tensor:
    """[B, T, pitches] states -> [B, T, 2 * pitches + steps_per_bar] inputs."""
    steps = roll.shape[1]
    phase = (torch.arange(steps, device=roll.device) + first_step) % steps_per_bar
    metre = functional.one_hot(phase, steps_per_bar).float()
    # Literal states (TorchScript cannot read imported globals): ONSET 1, HELD 2.
    return torch.cat([(roll == 1).float(), (roll == 2).float(),
                      metre.expand(roll.shape[0], -1, -1)], dim=-1)


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0) -> torch.Tensor:
    """Mean over cells of -(1 - p)^gamma log p, p the probability of the true state."""
    log_probabilities = functional.log_softmax(logits, dim=-1)
    true_log = log_probabilities.gather(-1, targets.long()[..., None])[..., 0]
    return (-(1.0 - true_log.exp()) ** gamma * true_log).mean()


def onset_precision_recall(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Note-level scores of the most likely next step: predicted note starts against real
    ones (a note start is one (step, pitch) cell in state ONSET)."""
    predicted = logits.argmax(dim=-1) == ONSET
    actual = targets == ONSET
    hits = (predicted & actual).sum().item()
    precision = hits / max(1, predicted.sum().item())
    recall = hits / max(1, actual.sum().item())
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return {"onset_precision": precision, "onset_recall": recall, "onset_f1": f1}
