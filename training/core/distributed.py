"""Process-group setup for runs under ``torchrun`` (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def start_process_group(device_name: str) -> ProcessGroup:
    """Join the torchrun group if the environment names one, else a single process."""
    if device_name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return ProcessGroup(device=torch.device(device_name))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if device_name == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend="nccl" if device_name == "cuda" else "gloo")
    return ProcessGroup(rank=rank, world_size=world_size, device=device)


def stop_process_group(group: ProcessGroup) -> None:
    if group.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def gather_objects(group: ProcessGroup, value: object) -> list[object]:
    """Every rank's ``value``, in rank order (a one-element list without a group)."""
    if not group.is_distributed:
        return [value]
    gathered: list[object] = [None] * group.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def barrier(group: ProcessGroup) -> None:
    if group.is_distributed:
        dist.barrier()
