"""A run folder's settings file and the new-run / resume rules every model shares."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from synth.files import atomic_write_text
from training.core.checkpoint import CHECKPOINT_NAME, CheckpointError

CONFIG_NAME = "config.json"


class RunError(Exception):
    """A run folder that cannot be started or resumed as asked."""


def loop_config(args: argparse.Namespace) -> dict:
    """The shared loop's settings, as a run folder stores them."""
    return {"steps": args.steps, "batch_size": args.batch_size,
            "learning_rate": args.learning_rate, "eval_every": args.eval_every,
            "checkpoint_every": args.checkpoint_every, "seed": args.seed}


def provenance(config: dict, steps: int, training_data: dict | None = None) -> dict:
    """Where an exported model came from: data, command, steps, settings, code version."""
    from training.core.version import code_version

    data = training_data if training_data is not None else config.get("data_summary", {})
    return {"training_data": {"folder": config.get("data"), **data},
            "training_command": config.get("command", ""),
            "training_steps": int(steps),
            "model_config": config.get("model", {}),
            "code_version": code_version()}


def read_run_config(run_dir: Path) -> dict:
    path = run_dir / CONFIG_NAME
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run folder (no {CONFIG_NAME})")
    return json.loads(path.read_text())


def write_run_config(run_dir: Path, config: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(config, indent=1)
    atomic_write_text(run_dir / CONFIG_NAME, text)


def open_run(run_dir: Path, resume: bool, data: Path | None,
             new_config: Callable[[], dict]) -> dict:
    """The settings of a resumed run, or ``new_config()`` for a new one (not yet written)."""
    if resume:
        config = read_run_config(run_dir)
        if not (run_dir / CHECKPOINT_NAME).is_file():
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
        return config
    if data is None:
        raise RunError("--data is required (unless --resume)")
    if (run_dir / CHECKPOINT_NAME).exists():
        raise RunError(f"{run_dir} already holds a run; use --resume or another --run-dir")
    return new_config()
