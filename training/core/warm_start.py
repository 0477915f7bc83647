"""Start a run from another run's weights (fine-tuning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.core.checkpoint import CHECKPOINT_NAME, load_checkpoint
from training.core.run_folder import RunError


def starting_state(source: dict[str, torch.Tensor], model: nn.Module,
                   origin: str) -> dict[str, torch.Tensor]:
    """``source``'s weights, checked against ``model``: a mismatch is named in one line.

    Weights the model names in ``ZERO_START`` (a lever added to an architecture, starting
    at zero) may be missing from the source: they keep the model's own initial values."""
    target = model.state_dict()
    zero_start = set(getattr(model, "ZERO_START", ())) & target.keys()
    source = {**{name: target[name] for name in zero_start - source.keys()}, **source}
    if source.keys() != target.keys():
        missing = sorted(target.keys() - source.keys())[:3]
        raise RunError(f"{origin}: not the same network (it lacks {', '.join(missing) or '-'}"
                       f"; extra {', '.join(sorted(source.keys() - target.keys())[:3]) or '-'})")
    for name, weight in target.items():
        if source[name].shape != weight.shape:
            raise RunError(f"{origin}: {name} is {tuple(source[name].shape)}, this network "
                           f"needs {tuple(weight.shape)}")
    return source


def read_source_weights(run_dir: Path) -> tuple[dict[str, torch.Tensor], int]:
    """The model weights and step of the run to start from."""
    state: dict[str, Any] = load_checkpoint(run_dir / CHECKPOINT_NAME)
    return state["model"], int(state["step"])
