"""The audio process's side of the decoding worker: requests out, tables back, restarts."""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from collections.abc import Callable
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from synth.grains.decode_worker import (
    SLOTS,
    DecodedTable,
    DecodeRequest,
    LoadModel,
    ModelLoaded,
    worker_main,
)
from synth.workers import WorkerFailed, WorkerProcess

log = logging.getLogger("deepnote.decoder")

STARTUP_TIMEOUT = 120.0


class GrainDecoder:
    """Owns the shared memory and one worker process, restarted whenever it dies."""

    def __init__(self, model_path: str, slot_samples: int, hop: int) -> None:
        self._memory = SharedMemory(create=True, size=SLOTS * slot_samples * 4)
        self._slots = np.ndarray((SLOTS, slot_samples), dtype=np.float32,
                                 buffer=self._memory.buf)
        self._next_id = 0
        self._latest: DecodeRequest | None = None
        self._completed_id = -1
        self._shape = (slot_samples, hop)
        self.model_events: list[ModelLoaded] = []  # answers to load(), oldest first
        self._worker = WorkerProcess(
            target=worker_main, args=(model_path, self._memory.name, slot_samples, hop),
            channels=("requests", "results", "free_slots"), name="deepnote-decoder",
            description=f"{model_path}: the decoding worker", prepare=_all_slots_free)

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid

    @property
    def restarts(self) -> int:
        return self._worker.restarts

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT,
                   cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Block until the worker has loaded the model (True) or ``cancelled()`` (False);
        ModelFileError if it could not."""
        return self._worker.wait_ready(timeout, cancelled) is not None

    def submit(self, latents: np.ndarray) -> int:
        """Ask for a table decoded from ``latents`` [grains, latent_dim]; returns its id."""
        request = DecodeRequest(self._next_id, np.asarray(latents, dtype=np.float32))
        self._next_id += 1
        self._latest = request
        self._worker.channels["requests"].put(request)
        return request.request_id

    def load(self, model_path: str) -> None:
        """Decode with another model from the next request on; the answer (loaded, or
        refused with the reason and the old model kept) arrives in ``model_events``."""
        self._worker.channels["requests"].put(LoadModel(model_path))

    def wait_for_model(self, timeout: float = 60.0) -> ModelLoaded:
        """Block until the worker answers a load (offline rendering is synchronous)."""
        deadline = time.monotonic() + timeout
        while not self.model_events:
            if time.monotonic() > deadline:
                raise TimeoutError("the decoding worker did not load the model in time")
            self.ensure_alive()
            self.poll(lambda table: None)
            time.sleep(0.001)
        return self.model_events.pop(0)

    @property
    def idle(self) -> bool:
        """True when the newest request has been delivered."""
        return self._latest is None or self._completed_id >= self._latest.request_id

    def poll(self, consume: Callable[[np.ndarray], None]) -> int | None:
        """Hand the newest finished table (a view into shared memory) to ``consume``."""
        newest: DecodedTable | None = None
        results, free_slots = self._worker.channels["results"], self._worker.channels["free_slots"]
        while True:
            try:
                message = results.get_nowait()
            except queue.Empty:
                break
            if isinstance(message, WorkerFailed):
                log.error("decoding worker could not start: %s", message.reason)
            if isinstance(message, ModelLoaded):
                if message.error is None:
                    self._worker.retarget((message.path, self._memory.name, *self._shape))
                self.model_events.append(message)
            if not isinstance(message, DecodedTable):
                continue
            if newest is not None:
                free_slots.put(newest.slot)
            newest = message
        if newest is None:
            return None
        consume(self._slots[newest.slot, : newest.length])
        free_slots.put(newest.slot)
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

        The restart does not wait for the new worker to load its model: the caller
        keeps serving controls meanwhile, and the queued request is decoded once it is up.
        Returns True if it restarted the worker.
        """
        if not self._worker.restart_if_dead("the last sound keeps playing"):
            return False
        if self._latest is not None and not self.idle:
            log.info("redoing the request the worker had not finished")
            self.submit(self._latest.latents)
        return True

    def close(self) -> None:
        self._worker.close()
        del self._slots
        self._memory.close()
        self._memory.unlink()


def _all_slots_free(channels: dict[str, mp.Queue]) -> None:
    for slot in range(SLOTS):
        channels["free_slots"].put(slot)
