"""The grain-decoding worker: a separate process that runs the decoder, never the audio process.

Requests carry latents; the worker decodes them in one batch, overlap-adds the grains into a
table and writes it into a free shared-memory slot. The audio process copies the slot into a
pyo table and hands the slot back. Only the newest waiting request is decoded: a performer
sweeping a slider wants where the slider is now, not every place it passed.

A level-shape grain file carries its decoder's weights as numpy arrays, and the worker runs
it in numpy (:mod:`synth.grains.level_shape_decoder`) without importing torch; any other
grain file (the convolutional VAE, a file exported before the weights were carried) is run
by TorchScript.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from synth.grains.tables import normalise_level, overlap_add, safe_table
from synth.workers import WorkerFailed, WorkerReady, parent_is_gone

log = logging.getLogger("deepnote.worker")

SLOTS = 3

GrainDecode = Callable[[np.ndarray], np.ndarray]  # latents [grains, latent] -> grains


@dataclass(frozen=True)
class DecodeRequest:
    request_id: int
    latents: np.ndarray  # [grains, latent_dim]


@dataclass(frozen=True)
class LoadModel:
    """Decode with another model file from now on (its metadata was checked already)."""

    path: str


@dataclass(frozen=True)
class ModelLoaded:
    path: str
    error: str | None = None  # why it was refused; the previous model is still loaded


@dataclass(frozen=True)
class DecodedTable:
    request_id: int
    slot: int
    length: int


def worker_main(
    model_path: str,
    shared_name: str,
    slot_samples: int,
    hop: int,
    requests: mp.Queue,
    results: mp.Queue,
    free_slots: mp.Queue,
) -> None:
    """Entry point of the worker process."""
    from synth.contract.model_file import ModelFileError

    try:
        decode = open_grain_decoder(model_path)
    except ModelFileError as error:
        results.put(WorkerFailed(str(error)))
        return
    # Spawned children share the audio process's resource tracker, which unlinks the
    # segment only when the audio process is gone too.
    memory = SharedMemory(name=shared_name)
    slots = np.ndarray((SLOTS, slot_samples), dtype=np.float32, buffer=memory.buf)
    results.put(WorkerReady(mp.current_process().pid or 0))
    try:
        while True:
            load, request = _newest(requests)
            if load is not None:
                try:
                    decode = open_grain_decoder(load.path)
                    results.put(ModelLoaded(load.path))
                except ModelFileError as error:
                    results.put(ModelLoaded(load.path, str(error)))
            if request is None:
                if load is None:
                    break
                continue
            grains = decode(request.latents)
            table = normalise_level(safe_table(overlap_add(grains, hop)))[:slot_samples]
            slot = free_slots.get()
            slots[slot, : len(table)] = table
            results.put(DecodedTable(request.request_id, slot, len(table)))
    finally:
        del slots
        memory.close()


def open_grain_decoder(path: str) -> GrainDecode:
    """The decoder of a grain file: in numpy when the file carries a level-shape decoder's
    weights, else through TorchScript (one thread, so a core stays free for the audio);
    ModelFileError if neither can read it."""
    from synth.contract.module_weights import read_module_weights
    from synth.grains.level_shape_decoder import LevelShapeDecoder

    weights = read_module_weights(path)
    if weights is not None and LevelShapeDecoder.reads(weights):
        return LevelShapeDecoder(weights).decode_grains
    return torchscript_grain_decoder(path)


def torchscript_grain_decoder(path: str) -> GrainDecode:
    """A grain file's decoder through TorchScript, on one torch thread."""
    import torch

    from synth.contract.torchscript import load_torchscript

    torch.set_num_threads(1)
    model = load_torchscript(path)

    def decode(latents: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model.decode_grains(torch.from_numpy(
                np.ascontiguousarray(latents, dtype=np.float32))).numpy()

    return decode


def _newest(requests: mp.Queue) -> tuple[LoadModel | None, DecodeRequest | None]:
    """The newest model to load and the newest table to decode, of those waiting; (None,
    None) to stop (asked to, or the audio process is gone)."""
    while True:
        try:
            message = requests.get(timeout=0.5)
            break
        except queue.Empty:
            if parent_is_gone():
                return None, None
    load: LoadModel | None = None
    request: DecodeRequest | None = None
    while message is not None:
        if isinstance(message, LoadModel):
            load, request = message, None  # what was asked of the old model is moot
        else:
            request = message
        try:
            message = requests.get_nowait()
        except queue.Empty:
            return load, request
    return None, None
