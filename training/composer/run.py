"""A composer training run folder: settings, the piano-roll dataset, and its task."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from synth.composer.piano_roll import RollRange
from training.composer.dataset import ComposerDataset, build_composer_dataset
from training.composer.task import ComposerConfig, ComposerTask
from training.core.distributed import ProcessGroup, barrier
from training.core.loop import LoopSettings
from training.core.run_folder import RunKind, new_run_config, open_run, write_run_config


def prepare_composer_run(args: argparse.Namespace, command: str,
                         group: ProcessGroup) -> tuple[ComposerTask, LoopSettings]:
    run_dir: Path = args.run_dir
    config = open_run(run_dir, args, lambda: _new_config(args, command))
    roll_range = RollRange(config["lowest_pitch"], config["pitches"],
                           config["steps_per_quarter"])
    dataset = build_composer_dataset(Path(config["data"]), roll_range)
    task = ComposerTask(dataset, ComposerConfig(**config["model"]), run_dir)
    if group.is_main and not args.resume:
        write_run_config(run_dir, {**config, "data_summary": {
            "files": len(dataset.rolls), "held_out_files": len(task.test_rolls),
            "train_windows": task.train_size, "skipped": dataset.skipped,
            "top_line_center": top_line_center(dataset)}})
    barrier(group)
    return task, LoopSettings(run_dir=run_dir, **config["loop"])


def top_line_center(dataset: ComposerDataset) -> float:
    """Mean pitch of the highest sounding note per step (where a melody sits)."""
    tops = []
    for roll in dataset.rolls:
        sounding = roll > 0
        rows = np.flatnonzero(sounding.any(axis=1))
        tops.extend(roll.shape[1] - 1 - np.argmax(sounding[rows, ::-1], axis=1))
    return float(dataset.roll_range.lowest + np.mean(tops))


def _new_config(args: argparse.Namespace, command: str) -> dict:
    model = ComposerConfig(hidden=args.hidden, layers=args.layers, window=args.window,
                           transpose=args.transpose, gamma=args.gamma)
    return new_run_config(RunKind.COMPOSER, args, command, model,
                          lowest_pitch=args.lowest_pitch, pitches=args.pitches,
                          steps_per_quarter=args.steps_per_quarter)
