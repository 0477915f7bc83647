"""The one place that calls the TorchScript API, whose deprecation warnings we silence here.

torch.jit is deprecated in torch 2.13, but TorchScript is the format nn~ and the rest of the
ecosystem load, so deepnote keeps it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from synth.contract.model_file import ModelFileError
from synth.contract.module_weights import BANK_ATTRIBUTES, ModuleWeights


@contextmanager
def torchscript_warnings_silenced() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", )
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.jit")
        yield


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    """Load an exported model on the CPU in eval mode; ModelFileError if it cannot load."""
    try:
        with torchscript_warnings_silenced():
            model = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ModelFileError(f"{path}: TorchScript cannot load it ({first_line})") from error
    model.eval()
    return model


def module_weights(module: torch.nn.Module, prefix: str = "") -> ModuleWeights:
    """A (scripted) module's state as numpy arrays (the entries whose names start with
    ``prefix``), with the attributes the numpy banks read."""
    arrays = {name: value.detach().cpu().numpy() for name, value in module.state_dict().items()
              if name.startswith(prefix)}
    attributes = {}
    for name in BANK_ATTRIBUTES:
        if hasattr(module, name):
            value = getattr(module, name)
            attributes[name] = [int(v) for v in value] if isinstance(value, list) else value
    return ModuleWeights(arrays, attributes)
