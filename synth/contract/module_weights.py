"""A model file's weights as numpy arrays, readable without torch.

Voice and composer files carry, beside their TorchScript program, the module's state
(``state_dict``) and the attributes the synth's numpy banks read, as an extra file
``weights.npz``; grain files carry their decoder's half. The voice worker and the decoding
worker read that and never import torch: torch is about 150 MB of a worker's memory, and
the networks run in numpy (and numba) anyway. A file exported before the weights were
carried is read through torch instead (:func:`load_module_weights`).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from synth.contract.model_file import ModelFileError

WEIGHTS_FILENAME = "weights.npz"
ATTRIBUTES_KEY = "__attributes__"
# The scripted modules' attributes the numpy banks, the composer and the grain decoder read
# (those a module has).
BANK_ATTRIBUTES = ("top_frame", "bottom_frame", "dim", "held_offset", "silence", "period_taps",
                   "sample_rate", "dilations", "channels", "pitches", "steps_per_bar",
                   "level_dims", "level_floor_db", "level_centre_db", "level_unit_db")


class ModuleWeights:
    """A module's state and attributes: ``state_dict()`` and attribute access, as on the
    TorchScript module they were taken from."""

    def __init__(self, arrays: Mapping[str, np.ndarray], attributes: Mapping[str, Any]) -> None:
        self._arrays = dict(arrays)
        self._attributes = dict(attributes)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self._arrays

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_attributes"][name]
        except KeyError:
            raise AttributeError(name) from None

    def npz_bytes(self) -> bytes:
        """The ``weights.npz`` a model file carries."""
        buffer = io.BytesIO()
        stored = {**self._arrays,
                  ATTRIBUTES_KEY: np.array(json.dumps(self._attributes, sort_keys=True))}
        np.savez(buffer, allow_pickle=False, **stored)
        return buffer.getvalue()


def read_module_weights(path: str | Path) -> ModuleWeights | None:
    """The weights a model file carries; None for a file exported without them."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(f"/extra/{WEIGHTS_FILENAME}")]
            if not names:
                return None
            _check_program(archive, names[0].split("/")[0], path)
            raw = archive.read(names[0])
        with np.load(io.BytesIO(raw), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files if name != ATTRIBUTES_KEY}
            attributes = json.loads(str(stored[ATTRIBUTES_KEY]))
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as error:
        raise ModelFileError(f"{path}: unreadable {WEIGHTS_FILENAME} ({error})") from error
    return ModuleWeights(arrays, attributes)


def _check_program(archive: zipfile.ZipFile, root: str, path: str | Path) -> None:
    """A file whose weights can be read but whose TorchScript program cannot be loaded is
    broken (nn~ cannot load it); refuse it here too, although no TorchScript is run."""
    if f"{root}/data.pkl" not in archive.namelist():
        raise ModelFileError(f"{path}: TorchScript cannot load it (no {root}/data.pkl)")
    damaged = archive.testzip()
    if damaged is not None:
        raise ModelFileError(f"{path}: TorchScript cannot load it ({damaged} is damaged)")


def load_module_weights(path: str | Path) -> ModuleWeights:
    """The weights of a model file: the numpy copy it carries, or (older files) its
    TorchScript module's, which imports torch."""
    carried = read_module_weights(path)
    if carried is not None:
        return carried
    from synth.contract.torchscript import load_torchscript, module_weights

    return module_weights(load_torchscript(path))
