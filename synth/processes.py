"""Helpers for the synth's processes."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from contextlib import contextmanager


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
