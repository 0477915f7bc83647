"""The synth's worker processes: one class for their lifecycle, and what every worker shares."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger("deepnote.workers")

RESTART_BACKOFF_SECONDS = 2.0  # a worker that cannot start must not be respawned in a loop
# Read by OpenBLAS and OpenMP when a worker imports numpy, scipy or torch: one thread each,
# so a worker's matrix products never take every core from the audio thread.
MATHS_THREADS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


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


@contextmanager
def sigint_ignored_by_children() -> Iterator[None]:
    """Processes started inside begin with SIGINT ignored (exec keeps an ignore, and Python
    then never raises KeyboardInterrupt): a Ctrl-C at a terminal reaches the whole process
    group, and the synth stops its workers itself, so each would otherwise die printing a
    traceback. SIGINT is blocked meanwhile, so one meant for the synth waits for its handler
    instead of being dropped (Linux never drops a blocked signal)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def single_threaded_maths_in_children() -> Iterator[None]:
    """Processes started inside run their numerical libraries on one thread, unless the
    environment already says how many."""
    added = [name for name in MATHS_THREADS_VARIABLES if name not in os.environ]
    for name in added:
        os.environ[name] = "1"
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@dataclass(frozen=True)
class WorkerReady:
    pid: int
    detail: object = None  # what a worker reports on starting (the OSC listener: its port)


@dataclass(frozen=True)
class WorkerFailed:
    reason: str


def wait_for_worker(process: mp.process.BaseProcess, results: mp.Queue, what: str,
                    timeout: float, cancelled: Callable[[], bool] = lambda: False,
                    failure: type[Exception] | None = None) -> WorkerReady | None:
    """Block until a worker says WorkerReady (returned), or until ``cancelled()`` (None: the
    synth is being stopped while it starts); ``failure`` (ModelFileError unless named), with
    one line, if it fails, dies or takes longer than ``timeout``. ``what`` names it:
    "<model>: the voice worker"."""
    from synth.contract.model_file import ModelFileError

    error = failure or ModelFileError
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cancelled():
            return None
        try:
            message = results.get(timeout=0.1)
        except queue.Empty:
            if not process.is_alive():
                raise error(f"{what} died while starting") from None
            continue
        if isinstance(message, WorkerFailed):
            raise error(message.reason)
        if isinstance(message, WorkerReady):
            return message
    raise error(f"{what} did not start in time")


class WorkerProcess:
    """One spawned worker process and its queues: start, ready handshake, restart with
    back-off, close.

    The process runs ``target(*args, *queues)``, its queues in the order ``channels`` names
    them; the first channel carries commands (``None`` asks the worker to stop), and a
    channel named ``results`` carries the ready handshake. Each start makes fresh queues: a
    worker killed in the middle of a put can leave a queue's lock taken.
    """

    def __init__(self, *, target: Callable[..., None], args: tuple, channels: tuple[str, ...],
                 name: str, description: str,
                 prepare: Callable[[dict[str, mp.Queue]], None] | None = None) -> None:
        if "results" not in channels:
            raise ValueError("a worker needs a results channel for its ready handshake")
        self._context = mp.get_context("spawn")  # never fork a process that runs audio
        self._target, self._args, self._channel_names = target, args, channels
        self._name, self.description, self._prepare = name, description, prepare
        self._next_restart = 0.0
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self.channels: dict[str, mp.Queue] = {name: self._context.Queue()
                                              for name in self._channel_names}
        if self._prepare is not None:
            self._prepare(self.channels)
        queues = tuple(self.channels[name] for name in self._channel_names)
        self._process = self._context.Process(target=self._target, name=self._name,
                                              daemon=True, args=(*self._args, *queues))
        with sigint_ignored_by_children(), single_threaded_maths_in_children():
            self._process.start()

    def retarget(self, args: tuple) -> None:
        """What the next restart passes to the target (a worker that switched its model
        comes back with the new one)."""
        self._args = args

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def wait_ready(self, timeout: float, cancelled: Callable[[], bool] = lambda: False,
                   failure: type[Exception] | None = None) -> WorkerReady | None:
        """Block until the worker says it is ready (its WorkerReady) or ``cancelled()``
        (None); ``failure`` (ModelFileError unless named), one line, if it cannot start."""
        return wait_for_worker(self._process, self.channels["results"], self.description,
                               timeout, cancelled, failure)

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def restart_if_dead(self, consequence: str) -> bool:
        """Start a new worker if this one died (at most once every RESTART_BACKOFF_SECONDS,
        so a worker that cannot start is not respawned in a loop); True if it did."""
        if self._process.is_alive() or time.monotonic() < self._next_restart:
            return False
        log.warning("%s (pid %s) died with code %s; restarting it; %s", self.description,
                    self._process.pid, self._process.exitcode, consequence)
        self._next_restart = time.monotonic() + RESTART_BACKOFF_SECONDS
        self.restarts += 1
        self._close_channels()
        self._start()
        return True

    def close(self) -> None:
        if self._process.is_alive():
            self.channels[self._channel_names[0]].put(None)
            self._process.join(timeout=2.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2.0)
        self._close_channels()

    def _close_channels(self) -> None:
        for channel in self.channels.values():
            channel.close()
            channel.cancel_join_thread()
