"""Helpers for the synth's worker processes."""

from __future__ import annotations

import multiprocessing as mp
import os


def parent_is_gone() -> bool:
    """True once the process that started this one has exited (even by SIGKILL)."""
    parent = mp.parent_process()
    return parent is not None and os.getppid() != parent.pid
