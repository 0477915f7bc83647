"""The training loop every deepnote model shares.

It owns what is the same for all models: data order, optimiser steps, DistributedDataParallel,
held-out evaluation, atomic checkpoints and exact resume. A :class:`TrainingTask` supplies the
model, the loss and what to write at each evaluation.

Resume is exact: the batch order is a pure function of (seed, step), and each rank's torch
RNG state travels in the checkpoint, so a run killed at any point and resumed from its last
checkpoint reaches the same weights as one that never stopped.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from training.core.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from training.core.distributed import ProcessGroup, barrier, gather_objects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    run_dir: Path
    steps: int
    batch_size: int
    learning_rate: float
    eval_every: int
    checkpoint_every: int
    seed: int = 0


class TrainingTask(Protocol):
    """What a model brings to the shared loop."""

    fingerprint: str
    train_size: int

    def build_model(self) -> nn.Module: ...

    def batch(self, indices: torch.Tensor, device: torch.device) -> torch.Tensor: ...

    def training_loss(
        self, model: nn.Module, batch: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]: ...

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]: ...

    def write_evaluation_outputs(self, model: nn.Module, step: int, history: dict) -> None: ...


def batch_indices(
    step: int, settings: LoopSettings, train_size: int, group: ProcessGroup
) -> torch.Tensor:
    """The training examples this rank uses at ``step`` (a function of seed and step only)."""
    per_epoch = max(1, train_size // settings.batch_size)
    epoch, position = divmod(step, per_epoch)
    generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + epoch)
    order = torch.randperm(train_size, generator=generator)
    size = min(settings.batch_size, train_size)
    global_batch = order[position * size : (position + 1) * size]
    return global_batch[group.rank :: group.world_size]


def learning_rate_at(step: int, settings: LoopSettings) -> float:
    """Cosine decay from the base rate to a tenth of it over the run.

    A constant rate leaves the last weights wherever the gradient noise put them (held-out
    error of the grain VAE swung by 3 dB between evaluations); annealing lets the run settle.
    A pure function of the step, so resuming needs no scheduler state.
    """
    progress = min(1.0, step / max(1, settings.steps))
    return settings.learning_rate * (0.1 + 0.45 * (1.0 + math.cos(math.pi * progress)))


def run_training(
    task: TrainingTask, settings: LoopSettings, group: ProcessGroup, resume: bool
) -> dict:
    """Train until ``settings.steps``; returns the history (losses, evaluations, timing)."""
    torch.manual_seed(settings.seed * 7919 + group.rank)
    model = task.build_model().to(group.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    history: dict = {"train": [], "eval": [], "seconds": 0.0, "examples": 0}
    step = 0
    checkpoint_path = settings.run_dir / CHECKPOINT_NAME
    if resume:
        step, history = _restore(checkpoint_path, task, model, optimizer, group)
        if group.is_main:
            log.info("resuming %s at step %d of %d", settings.run_dir, step, settings.steps)

    trained = DistributedDataParallel(model) if group.is_distributed else model
    progress = tqdm(total=settings.steps, initial=step, disable=not group.is_main,
                    desc="training", unit="step", dynamic_ncols=True)
    started = time.perf_counter()
    seconds_before = history["seconds"]
    model.train()
    while step < settings.steps:
        indices = batch_indices(step, settings, task.train_size, group)
        batch = task.batch(indices, group.device)
        loss, terms = task.training_loss(trained, batch)
        for group_settings in optimizer.param_groups:
            group_settings["lr"] = learning_rate_at(step, settings)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        history["examples"] += len(indices) * group.world_size  # a voice batch is a tuple
        loss_value = loss.item()
        history["train"].append({"step": step, "loss": loss_value, **terms})
        progress.update(1)
        progress.set_postfix(loss=f"{loss_value:.4g}")
        history["seconds"] = seconds_before + time.perf_counter() - started
        if step % settings.eval_every == 0 or step == settings.steps:
            _evaluate(task, model, step, history, group)
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            _checkpoint(checkpoint_path, task, model, optimizer, step, history, settings, group)
    progress.close()
    return history


def _evaluate(
    task: TrainingTask, model: nn.Module, step: int, history: dict, group: ProcessGroup
) -> None:
    model.eval()
    with torch.no_grad():
        metrics = task.evaluate(model, group.device)
    history["eval"].append({"step": step, **metrics})
    if group.is_main:
        summary = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        tqdm.write(f"step {step}: held-out {summary}")
        task.write_evaluation_outputs(model, step, history)
    model.train()


def _checkpoint(
    path: Path,
    task: TrainingTask,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    history: dict,
    settings: LoopSettings,
    group: ProcessGroup,
) -> None:
    rng_states = gather_objects(group, torch.get_rng_state())
    if group.is_main:
        save_checkpoint(path, {
            "step": step,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "history": history,
            "rng_states": rng_states,
            "fingerprint": task.fingerprint,
            "world_size": group.world_size,
            "settings": {"steps": settings.steps, "batch_size": settings.batch_size,
                         "seed": settings.seed},
        })
    barrier(group)


def _restore(
    path: Path,
    task: TrainingTask,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    group: ProcessGroup,
) -> tuple[int, dict]:
    state = load_checkpoint(path)
    if state["fingerprint"] != task.fingerprint:
        raise CheckpointError(
            f"{path}: was trained on other data (fingerprint {state['fingerprint']}, "
            f"this dataset {task.fingerprint})"
        )
    if state["world_size"] != group.world_size:
        log.warning("checkpoint was written by %d processes, resuming with %d: "
                    "the batch split changes", state["world_size"], group.world_size)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    rng_states = state["rng_states"]
    if group.rank < len(rng_states):
        torch.set_rng_state(rng_states[group.rank])
    return int(state["step"]), state["history"]
