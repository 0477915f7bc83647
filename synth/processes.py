"""Helpers for the synth's processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def parent_is_gone() -> bool:
    """True once the process that started this one has exited (even by SIGKILL)."""
    parent = mp.parent_process()
    return parent is not None and os.getppid() != parent.pid


@contextmanager
def c_stderr_muted() -> Iterator[None]:
    """Silence what C libraries (portaudio, libjack) print on file descriptor 2."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass(frozen=True)
class WorkerReady:
    pid: int


@dataclass(frozen=True)
class WorkerFailed:
    reason: str


def wait_for_worker(process: mp.process.BaseProcess, results: mp.Queue, what: str,
                    timeout: float) -> None:
    """Block until a worker says WorkerReady; ModelFileError (one line) if it fails, dies
    or takes longer than ``timeout``. ``what`` names it: "<model>: the voice worker"."""
    from synth.contract.model_file import ModelFileError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = results.get(timeout=0.1)
        except queue.Empty:
            if not process.is_alive():
                raise ModelFileError(f"{what} died while loading it") from None
            continue
        if isinstance(message, WorkerFailed):
            raise ModelFileError(message.reason)
        if isinstance(message, WorkerReady):
            return
    raise ModelFileError(f"{what} did not start in time")
