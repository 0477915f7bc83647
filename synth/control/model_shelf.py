"""The models a show can switch between: the exported files of one folder, by name.

A grains model on the shelf is chosen by its file name without ``.pt``. Before the decoding
worker is asked to load it, its metadata is checked, and it must speak the playing model's
sample rate, grain size and latent dimension (the audio server and the grain tables are
built for those); anything else is refused with the reason, and the playing model goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from synth.contract.model_file import (
    KIND_GRAINS,
    GrainModelInfo,
    ModelFileError,
    read_grain_model,
    read_metadata,
)

MODEL_SUFFIX = ".pt"


class ModelShelf:
    def __init__(self, directory: Path, playing: GrainModelInfo,
                 load_grains: Callable[[str], None]) -> None:
        self.directory = directory
        self.playing = playing
        self.playing_name = Path(playing.source).stem
        self._load_grains = load_grains

    def available(self, kind: str = KIND_GRAINS) -> list[str]:
        """Names of the folder's model files of ``kind``, sorted."""
        names = []
        for path in sorted(self.directory.glob(f"*{MODEL_SUFFIX}")):
            try:
                read_metadata(path, expected_kind=kind)
            except ModelFileError:
                continue
            names.append(path.stem)
        return names

    def grains(self, name: str) -> GrainModelInfo:
        """The named grains model, checked against the one playing; ModelFileError (one
        line) says why it cannot play here."""
        path = self.directory / f"{name}{MODEL_SUFFIX}"
        if not path.is_file():
            raise ModelFileError(f"no model {name} in {self.directory}")
        model = read_grain_model(path)
        for what, wanted, got in (("sample rate", self.playing.sample_rate, model.sample_rate),
                                  ("grain size", self.playing.grain_size, model.grain_size),
                                  ("latent dimension", self.playing.latent_dim,
                                   model.latent_dim)):
            if wanted != got:
                raise ModelFileError(f"{path}: {what} {got}, but the synth plays {wanted} "
                                     "(start it with --model to play this one)")
        return model

    def load(self, model: GrainModelInfo) -> None:
        """Ask the decoding worker to load ``model``; it answers in its model events."""
        self._load_grains(model.source)

    def now_playing(self, model: GrainModelInfo) -> None:
        self.playing = model
        self.playing_name = Path(model.source).stem
