"""Ctrl-C and SIGTERM held back while code that would swallow them runs.

pyo's import tries ``import wx`` and ``import tkinter`` inside bare ``except:`` blocks: a
KeyboardInterrupt raised there is caught and lost, and the synth starts playing after the
user asked it to stop. Inside :func:`interrupts_deferred` the signals are only noted; on the
way out the first one is raised again under the handlers that were there before.
"""

from __future__ import annotations

import signal
import time
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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
REASSERT_SECONDS = 0.1


class StopFlag:
    """Raised by SIGINT/SIGTERM. :meth:`is_raised` also keeps the handler installed and the
    signals unblocked in this thread: libraries that run in this process (libjack, the
    multiprocessing machinery) mask or replace them for a while, and a stop sent then was
    sometimes never seen (issue 17). The live synth installs it before its first start-up
    step, so no KeyboardInterrupt is ever raised where a library's bare except could eat it,
    and a SIGINT that the parent ignored (a shell's background job) is honoured from then on."""

    def __init__(self) -> None:
        self.raised = False
        self._next_check = 0.0

    def __call__(self, signum: int, frame: object) -> None:
        self.raised = True

    def install(self) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, self)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def uninstall(self) -> None:
        """Python's own handlers again: KeyboardInterrupt for SIGINT, the default for SIGTERM."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def is_raised(self) -> bool:
        now = time.monotonic()
        if not self.raised and now >= self._next_check:
            self._next_check = now + REASSERT_SECONDS
            self.install()
        return self.raised
