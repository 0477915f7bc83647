"""The model-file contract shared by the exporter (training) and the runtime (synth).

An exported model is a TorchScript archive (a zip file) that carries its metadata as the
extra file ``deepnote.json``. The metadata can be read without importing torch, so the
audio process can check a model before any worker starts.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

FORMAT_VERSION = "1.0"
METADATA_FILENAME = "deepnote.json"
KIND_GRAINS = "grains"
KIND_VOICE = "voice"
KIND_COMPOSER = "composer"
KNOWN_KINDS = (KIND_GRAINS, KIND_VOICE, KIND_COMPOSER)

COMMON_KEYS = (
    "format_version",
    "kind",
    "sample_rate",
    "training_data",
    "training_command",
    "code_version",
)
GRAIN_KEYS = (
    "grain_size",
    "grain_hop",
    "latent_dim",
    "latent_quantiles",
    "latent_mean",
    "latent_std",
    "latent_pca_mean",
    "latent_pca_axes",
    "latent_pca_xy_range",
)

VOICE_KEYS = ("voices", "frame_size", "levels", "quantization", "counter_cap",
              "trained_notes")
COMPOSER_KEYS = ("lowest_pitch", "pitches", "steps_per_quarter", "steps_per_bar")

# A voice file without "architecture" predates the WaveNet voice: it is a SampleRNN.
VOICE_ARCHITECTURES = ("samplernn", "wavenet")

# Methods a grains model must offer to the synth (grain domain) and to nn~ ([B, C, T]).
GRAIN_METHODS = ("decode_grains", "encode_grains", "encode", "decode", "forward")


class ModelFileError(Exception):
    """A model file that cannot be used; the message says why in one line."""


def major_version(version: str) -> int:
    """The major part of a ``MAJOR.MINOR`` version string."""
    try:
        return int(str(version).split(".")[0])
    except ValueError as error:
        raise ModelFileError(f"unreadable format version {version!r}") from error


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Read and validate the metadata of an exported model without loading torch."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(f"/extra/{METADATA_FILENAME}")]
            if not names:
                raise ModelFileError(
                    f"{path}: not a deepnote model (no {METADATA_FILENAME} inside; "
                    "export it with deepnote-export)"
                )
            raw = archive.read(names[0])
    except zipfile.BadZipFile as error:
        raise ModelFileError(f"{path}: not a TorchScript model file (not a zip archive)") from error
    try:
        metadata = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: corrupt metadata ({error.msg})") from error
    validate_metadata(metadata, source=str(path))
    return metadata


def validate_metadata(
    metadata: Any, source: str = "model", expected_kind: str | None = None
) -> None:
    """Raise ModelFileError naming the first problem with a metadata dictionary."""
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{source}: metadata is not a JSON object")
    version = metadata.get("format_version")
    if version is None:
        raise ModelFileError(f"{source}: metadata has no format_version")
    if major_version(version) != major_version(FORMAT_VERSION):
        raise ModelFileError(
            f"{source}: format version {version} is not supported "
            f"(this deepnote reads {major_version(FORMAT_VERSION)}.x)"
        )
    kind = metadata.get("kind")
    if kind not in KNOWN_KINDS:
        raise ModelFileError(f"{source}: unknown model kind {kind!r}")
    if expected_kind is not None and kind != expected_kind:
        raise ModelFileError(f"{source}: is a {kind} model, expected a {expected_kind} model")
    required = COMMON_KEYS + {KIND_GRAINS: GRAIN_KEYS, KIND_VOICE: VOICE_KEYS,
                              KIND_COMPOSER: COMPOSER_KEYS}[kind]
    missing = [key for key in required if key not in metadata]
    if missing:
        raise ModelFileError(f"{source}: metadata lacks {', '.join(missing)}")
    if kind == KIND_GRAINS:
        _validate_grain_metadata(metadata, source)
    elif kind == KIND_VOICE:
        voice_architecture(metadata, source)


def voice_architecture(metadata: dict[str, Any], source: str = "model") -> str:
    """The network a voice file holds ("samplernn" or "wavenet")."""
    architecture = metadata.get("architecture", "samplernn")
    if architecture not in VOICE_ARCHITECTURES:
        raise ModelFileError(f"{source}: unknown voice architecture {architecture!r} "
                             f"(this deepnote plays {', '.join(VOICE_ARCHITECTURES)})")
    return architecture


def _validate_grain_metadata(metadata: dict[str, Any], source: str) -> None:
    latent_dim = metadata["latent_dim"]
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ModelFileError(f"{source}: latent_dim must be a positive integer")
    for key in ("sample_rate", "grain_size", "grain_hop"):
        if not isinstance(metadata[key], int) or metadata[key] < 1:
            raise ModelFileError(f"{source}: {key} must be a positive integer")
    quantiles = metadata["latent_quantiles"]
    if not (isinstance(quantiles, list) and quantiles and len(quantiles[0]) == latent_dim):
        raise ModelFileError(f"{source}: latent_quantiles must be a [levels][{latent_dim}] list")
    axes = metadata["latent_pca_axes"]
    if not (isinstance(axes, list) and len(axes) >= 2 and len(axes[0]) == latent_dim):
        raise ModelFileError(f"{source}: latent_pca_axes must hold at least 2 axes")


def metadata_json(metadata: dict[str, Any]) -> str:
    """Serialise metadata the way it is stored in a model file."""
    return json.dumps(metadata, indent=1, sort_keys=True)
