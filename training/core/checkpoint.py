"""Training-state checkpoints: written atomically, read with ``weights_only=True``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from synth.files import atomic_write_bytes

CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(Exception):
    """A checkpoint that is missing, unreadable or does not belong to this run."""


def cpu_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself when it is on the CPU, else a CPU copy (training goes on)."""
    if next(model.parameters()).device.type == "cpu":
        return model
    return copy.deepcopy(model).cpu()


def load_weights(model: torch.nn.Module, state: dict[str, Any], run_dir: Path, what: str,
                 error: type[Exception] = CheckpointError) -> None:
    """Put a checkpoint's weights into ``model``; ``error`` names the mismatch in one line."""
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as mismatch:
        first = str(mismatch).strip().splitlines()[-1].strip()
        raise error(f"{run_dir}: checkpoint does not fit the {what} ({first})") from mismatch


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    atomic_write_bytes(path, lambda file: torch.save(state, file))


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors alike
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(f"{path}: unreadable checkpoint ({first_line})") from error
