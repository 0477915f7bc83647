"""Writing a model file, whatever its kind: script the module, check its contract, save
it with its metadata (and, for the voice worker, its weights as numpy arrays) beside the
target, reload and compare, then rename into place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from synth.contract.model_file import (
    METADATA_FILENAME,
    ModelFileError,
    metadata_json,
    read_metadata,
    validate_metadata,
)
from synth.contract.module_weights import WEIGHTS_FILENAME, ModuleWeights, read_module_weights
from synth.contract.torchscript import (
    load_torchscript,
    module_weights,
    torchscript_warnings_silenced,
)
from synth.files import atomic_write_bytes


class ExportError(ModelFileError):
    """The run cannot be exported; the message says why in one line."""


ContractCheck = Callable[[torch.jit.ScriptModule, dict[str, Any]], None]
SameOutput = Callable[[torch.jit.ScriptModule, torch.jit.ScriptModule, dict[str, Any]], bool]


def write_model_file(model: nn.Module, metadata: dict[str, Any], out: Path,
                     check: ContractCheck, same_output: SameOutput,
                     carry_weights: bool = False, carried_prefix: str = "") -> None:
    """Script, validate, save beside ``out``, reload and check, then rename into place.

    ``check`` raises ExportError when a scripted model breaks its kind's contract;
    ``same_output`` tells whether the reloaded file computes what the exported model does;
    ``carry_weights`` also stores the weights as numpy arrays (synth.contract.module_weights),
    for the workers that run without torch; only the state whose names start with
    ``carried_prefix`` (the grain decoder's half of a VAE, say).
    """
    validate_metadata(metadata, source="export")
    model.eval()
    with torchscript_warnings_silenced():
        scripted = torch.jit.script(model)
    check(scripted, metadata)
    extra: dict[str, str | bytes] = {METADATA_FILENAME: metadata_json(metadata)}
    if carry_weights:
        extra[WEIGHTS_FILENAME] = module_weights(scripted, carried_prefix).npz_bytes()

    def save(file: BinaryIO) -> None:
        with torchscript_warnings_silenced():
            torch.jit.save(scripted, file, _extra_files=extra)

    def check_written(path: Path) -> None:
        reloaded = load_torchscript(path)
        if not same_output(reloaded, scripted, metadata):
            raise ExportError("the reloaded model computes something else than the exported one")
        if read_metadata(path) != metadata:
            raise ExportError("metadata did not survive the round trip")
        if carry_weights and not _same_weights(read_module_weights(path),
                                               module_weights(reloaded, carried_prefix)):
            raise ExportError("the numpy weights in the file are not the module's")
        check(reloaded, metadata)

    try:
        atomic_write_bytes(out, save, check=check_written)
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error.strerror or error}") from error


def _same_weights(carried: ModuleWeights | None, reference: ModuleWeights) -> bool:
    if carried is None:
        return False
    arrays, expected = carried.state_dict(), reference.state_dict()
    return arrays.keys() == expected.keys() and all(
        np.array_equal(arrays[name], value) for name, value in expected.items())
