"""Ctrl-C and SIGTERM held back while code that would swallow them runs.

pyo's import tries ``import wx`` and ``import tkinter`` inside bare ``except:`` blocks: a
KeyboardInterrupt raised there is caught and lost, and the synth starts playing after the
user asked it to stop. Inside :func:`interrupts_deferred` the signals are only noted; on the
way out the first one is raised again under the handlers that were there before.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    received: list[int] = []
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum))
                for number in DEFERRED}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])
