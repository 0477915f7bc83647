"""The models a show can switch between: the exported files of one folder, by name.

A model on the shelf is chosen by its file name without ``.pt``. Before a worker is asked to
load it, its metadata is checked: a grains model must speak the playing one's sample rate,
grain size and latent dimension (the grain tables are built for those), a voice the playing
voice's sample rate (its ring is); anything else is refused with the reason, and the
playing model goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from synth.contract.model_file import (
    KIND_GRAINS,
    GrainModelInfo,
    ModelFileError,
    VoiceModelInfo,
    read_grain_model,
    read_metadata,
    read_voice_model,
)

MODEL_SUFFIX = ".pt"


class ModelShelf:
    def __init__(self, directory: Path, playing: GrainModelInfo,
                 load_grains: Callable[[str], None], voice: VoiceModelInfo | None = None,
                 load_voice: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.playing = playing
        self.playing_name = Path(playing.source).stem
        self._load_grains = load_grains
        self.voice = voice
        self.voice_name = Path(voice.source).stem if voice is not None else None
        self._load_voice = load_voice

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

    def voice_model(self, name: str) -> VoiceModelInfo:
        """The named voice, checked against the one playing; ModelFileError says why not."""
        if self.voice is None or self._load_voice is None:
            raise ModelFileError("no voice is playing (start the synth with --voice)")
        path = self.directory / f"{name}{MODEL_SUFFIX}"
        if not path.is_file():
            raise ModelFileError(f"no model {name} in {self.directory}")
        model = read_voice_model(path)
        if model.sample_rate != self.voice.sample_rate:
            raise ModelFileError(f"{path}: {model.sample_rate} Hz, but the voice plays at "
                                 f"{self.voice.sample_rate} Hz (start the synth with --voice "
                                 "to play it)")
        return model

    def load_voice(self, model: VoiceModelInfo) -> None:
        assert self._load_voice is not None
        self._load_voice(model.source)

    def voice_now_playing(self, model: VoiceModelInfo) -> None:
        self.voice = model
        self.voice_name = Path(model.source).stem
