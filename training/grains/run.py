"""A grain training run folder: its settings, its dataset, and the task that trains it."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from training.core.checkpoint import CHECKPOINT_NAME, load_checkpoint, load_weights
from training.core.distributed import ProcessGroup, barrier
from training.core.loop import LoopSettings
from training.core.run_folder import (
    RunError,
    RunKind,
    new_run_config,
    open_run,
    read_run_config,
    write_run_config,
)
from training.grains.dataset import GrainDataset, GrainDatasetConfig, build_grain_dataset
from training.grains.presets import (
    GRAIN_PRESETS,
    GrainModel,
    GrainModelConfig,
    build_grain_model,
)
from training.grains.task import GrainTask

DATASET_NAME = "dataset.npz"


def prepare_grain_run(
    args: argparse.Namespace, command: str, group: ProcessGroup
) -> tuple[GrainTask, LoopSettings]:
    """Create (or reopen with ``--resume``) the run folder and build its training task."""
    run_dir: Path = args.run_dir
    config = open_run(run_dir, args, lambda: _new_run_config(args, command))
    dataset = _run_dataset(run_dir, config, group)
    model_config = GrainModelConfig(**config["model"])
    settings = LoopSettings(run_dir=run_dir, **config["loop"])
    return GrainTask(dataset, model_config, run_dir), settings


@dataclass(frozen=True)
class TrainedGrainRun:
    config: dict
    dataset: GrainDataset
    state: dict
    vae: GrainModel


def load_trained_run(run_dir: Path) -> TrainedGrainRun:
    """A grains run's settings, dataset, last checkpoint and VAE (in eval mode)."""
    config = read_run_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    dataset = load_run_dataset(run_dir)
    vae = build_grain_model(GrainModelConfig(**config["model"]), dataset.config.grain_size)
    load_weights(vae, state, run_dir, "grain VAE")
    return TrainedGrainRun(config, dataset, state, vae.eval())


def load_run_dataset(run_dir: Path) -> GrainDataset:
    path = run_dir / DATASET_NAME
    if not path.is_file():
        raise RunError(f"{run_dir}: no {DATASET_NAME}")
    return GrainDataset.load(path)


def _new_run_config(args: argparse.Namespace, command: str) -> dict:
    preset = GRAIN_PRESETS[args.preset]
    model = replace(
        preset,
        beta=preset.beta if args.beta is None else args.beta,
        stft_weight=preset.stft_weight if args.stft_weight is None else args.stft_weight,
        eq_fraction=preset.eq_fraction if args.eq_augment is None else args.eq_augment,
    )
    return new_run_config(RunKind.GRAINS, args, command, model,
                          dataset=asdict(_dataset_config_from_args(args)))


def _dataset_config_from_args(args: argparse.Namespace) -> GrainDatasetConfig:
    return GrainDatasetConfig(
        sample_rate=args.sample_rate,
        grain_size=args.grain_size,
        hop=args.hop,
        silence_db=args.silence_db,
        test_fraction=args.test_fraction,
        normalize_peak=None if args.no_normalize else GrainDatasetConfig().normalize_peak,
        seed=args.seed,
    )


def _run_dataset(run_dir: Path, config: dict, group: ProcessGroup) -> GrainDataset:
    dataset_path = run_dir / DATASET_NAME
    if group.is_main and not dataset_path.is_file():
        dataset = build_grain_dataset(Path(config["data"]),
                                      GrainDatasetConfig(**config["dataset"]))
        run_dir.mkdir(parents=True, exist_ok=True)
        dataset.save(dataset_path)
        write_run_config(run_dir, {**config, "data_summary": dataset.summary()})
    barrier(group)
    return GrainDataset.load(dataset_path)
