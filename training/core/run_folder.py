"""A run folder's settings file and the new-run / resume rules every model shares."""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path

from synth.files import atomic_write_text
from training.core.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint

CONFIG_NAME = "config.json"


class RunError(Exception):
    """A run folder that cannot be started or resumed as asked."""


class RunKind(StrEnum):
    """What a run folder trains (its config.json's ``kind``)."""

    GRAINS = "grains"
    VOICE = "voice"
    COMPOSER = "composer"
    AUDIO_WAVENET = "audio-wavenet"


def loop_config(args: argparse.Namespace) -> dict:
    """The shared loop's settings, as a run folder stores them."""
    return {"steps": args.steps, "batch_size": args.batch_size,
            "learning_rate": args.learning_rate, "eval_every": args.eval_every,
            "checkpoint_every": args.checkpoint_every, "seed": args.seed}


def new_run_config(kind: RunKind, args: argparse.Namespace, command: str, model: object,
                   **settings: object) -> dict:
    """The config.json of a new run: what it trains, how it was asked for, on what data,
    with which model and loop settings (``settings``: what else that kind needs)."""
    from training.core.version import code_version

    return {"kind": kind.value, "command": command, "code_version": code_version(),
            "data": str(args.data.resolve()), **settings, "model": asdict(model),  # type: ignore[call-overload]
            "loop": loop_config(args)}


def provenance(config: dict, steps: int, training_data: dict | None = None) -> dict:
    """Where an exported model came from: data, command, steps, settings, code version."""
    from training.core.version import code_version

    data = training_data if training_data is not None else config.get("data_summary", {})
    return {"training_data": {"folder": config.get("data"), **data},
            "training_command": config.get("command", ""),
            "training_resumed": config.get("resumed", []),  # each --resume --steps N after it
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


def open_run(run_dir: Path, args: argparse.Namespace, new_config: Callable[[], dict]) -> dict:
    """The settings of a resumed run, or ``new_config()`` for a new one (not yet written).

    A new run needs an empty or new ``run_dir``: a folder left by an earlier run (even one
    that failed before its first checkpoint, and may have cached the other data) is refused
    unless ``--overwrite`` says to delete it. ``--resume --steps N`` trains a run longer (or
    shorter, down to its checkpoint's step).
    """
    if args.resume:
        config = read_run_config(run_dir)
        checkpoint = run_dir / CHECKPOINT_NAME
        if not checkpoint.is_file():
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
        if getattr(args, "steps_given", False) and args.steps != config["loop"]["steps"]:
            reached = int(load_checkpoint(checkpoint)["step"])
            if args.steps < reached:
                raise RunError(f"--steps {args.steps} is below the checkpoint's step {reached}")
            config["loop"]["steps"] = args.steps
            config.setdefault("resumed", []).append({"at_step": reached, "steps": args.steps})
            write_run_config(run_dir, config)
        return config
    if args.data is None:
        raise RunError("--data is required (unless --resume)")
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        if not getattr(args, "overwrite", False):
            raise RunError(f"{run_dir} already holds a run; use --resume to continue it, "
                           "--overwrite to start again, or another --run-dir")
        if not (run_dir / CONFIG_NAME).is_file():
            raise RunError(f"{run_dir} is not a run folder (no {CONFIG_NAME}); --overwrite "
                           "only deletes run folders")
        shutil.rmtree(run_dir)
    return new_config()
