"""The audio process's side of the decoding worker: requests out, tables back, restarts."""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from collections.abc import Callable
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from synth.grains.decode_worker import SLOTS, DecodedTable, DecodeRequest, worker_main
from synth.processes import WorkerFailed, wait_for_worker

log = logging.getLogger("deepnote.decoder")

STARTUP_TIMEOUT = 120.0
RESTART_BACKOFF_SECONDS = 2.0  # a worker that cannot start must not be respawned in a loop


class GrainDecoder:
    """Owns the shared memory and one worker process, restarted whenever it dies."""

    def __init__(self, model_path: str, slot_samples: int, hop: int) -> None:
        self._context = mp.get_context("spawn")  # never fork a process that runs audio
        self._model_path = model_path
        self._slot_samples = slot_samples
        self._hop = hop
        self._memory = SharedMemory(create=True, size=SLOTS * slot_samples * 4)
        self._slots = np.ndarray((SLOTS, slot_samples), dtype=np.float32,
                                 buffer=self._memory.buf)
        self._next_id = 0
        self._latest: DecodeRequest | None = None
        self._completed_id = -1
        self._next_restart = 0.0
        self._start_worker()

    @property
    def worker_pid(self) -> int | None:
        return self._process.pid

    def _start_worker(self) -> None:
        # Fresh queues each time: a worker killed mid-put can leave a queue's lock taken.
        self._requests = self._context.Queue()
        self._results = self._context.Queue()
        self._free_slots = self._context.Queue()
        for slot in range(SLOTS):
            self._free_slots.put(slot)
        self._process = self._context.Process(
            target=worker_main, name="deepnote-decoder", daemon=True,
            args=(self._model_path, self._memory.name, self._slot_samples, self._hop,
                  self._requests, self._results, self._free_slots))
        self._process.start()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Block until the worker has loaded the model; ModelFileError if it could not."""
        wait_for_worker(self._process, self._results,
                        f"{self._model_path}: the decoding worker", timeout)

    def submit(self, latents: np.ndarray) -> int:
        """Ask for a table decoded from ``latents`` [grains, latent_dim]; returns its id."""
        request = DecodeRequest(self._next_id, np.asarray(latents, dtype=np.float32))
        self._next_id += 1
        self._latest = request
        self._requests.put(request)
        return request.request_id

    @property
    def idle(self) -> bool:
        """True when the newest request has been delivered."""
        return self._latest is None or self._completed_id >= self._latest.request_id

    def poll(self, consume: Callable[[np.ndarray], None]) -> int | None:
        """Hand the newest finished table (a view into shared memory) to ``consume``."""
        newest: DecodedTable | None = None
        while True:
            try:
                message = self._results.get_nowait()
            except queue.Empty:
                break
            if isinstance(message, WorkerFailed):
                log.error("decoding worker could not start: %s", message.reason)
            if not isinstance(message, DecodedTable):
                continue
            if newest is not None:
                self._free_slots.put(newest.slot)
            newest = message
        if newest is None:
            return None
        consume(self._slots[newest.slot, : newest.length])
        self._free_slots.put(newest.slot)
        self._completed_id = max(self._completed_id, newest.request_id)
        return newest.request_id

    def wait(self, consume: Callable[[np.ndarray], None], timeout: float = 60.0) -> None:
        """Block until the newest request is delivered (offline rendering is synchronous)."""
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() > deadline:
                raise TimeoutError("the decoding worker did not answer in time")
            self.ensure_alive()
            if self.poll(consume) is None:
                time.sleep(0.001)

    def ensure_alive(self) -> bool:
        """Restart a dead worker and queue again the request it had not finished.

        The restart does not wait for the new worker to load torch (seconds): the caller
        keeps serving controls meanwhile, and the queued request is decoded once it is up.
        Returns True if it restarted the worker.
        """
        if self._process.is_alive() or time.monotonic() < self._next_restart:
            return False
        log.warning("decoding worker (pid %s) died with code %s; restarting it, the last "
                    "sound keeps playing", self._process.pid, self._process.exitcode)
        self._next_restart = time.monotonic() + RESTART_BACKOFF_SECONDS
        self._start_worker()
        if self._latest is not None and not self.idle:
            log.info("redoing the request the worker had not finished")
            self.submit(self._latest.latents)
        return True

    def close(self) -> None:
        if self._process.is_alive():
            self._requests.put(None)
            self._process.join(timeout=2.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2.0)
        for channel in (self._requests, self._results, self._free_slots):
            channel.close()
            channel.cancel_join_thread()
        del self._slots
        self._memory.close()
        self._memory.unlink()
