"""The model-file contract shared by the exporter (training) and the runtime (synth).

An exported model is a TorchScript archive (a zip file) that carries its metadata as the
extra file ``deepnote.json``. The metadata can be read without importing torch, so the
audio process can check a model before any worker starts.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# 1.1: grain files no longer carry "grain_hop" (the synth overlaps grains by half a grain
# whatever the training hop was); 1.0 files with it still load.
FORMAT_VERSION = "1.1"
METADATA_FILENAME = "deepnote.json"
KIND_GRAINS = "grains"
KIND_VOICE = "voice"
KIND_COMPOSER = "composer"
KNOWN_KINDS = (KIND_GRAINS, KIND_VOICE, KIND_COMPOSER)
# Optional in grain files (since this version): latent directions for /timbre/NAME.
TIMBRE_AXES = ("bright", "noisy", "pitched")

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
MAX_LEVEL_AVERAGING = 8  # classes either side of the drawn one

# Methods a grains model must offer to the synth (grain domain) and to nn~ ([B, C, T]).
GRAIN_METHODS = ("decode_grains", "encode_grains", "encode", "decode", "forward")


class ModelFileError(Exception):
    """A model file that cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class GrainModelInfo:
    """What the synth reads from a grain model's metadata."""

    source: str
    sample_rate: int
    grain_size: int
    latent_dim: int
    latent_quantiles: list[list[float]]  # [levels][latent_dim]
    latent_quantile_levels: list[float] | None  # None: evenly spaced from 0 to 1
    latent_std: list[float]
    latent_pca_mean: list[float]
    latent_pca_axes: list[list[float]]  # principal axes of the training latents, first first
    latent_pca_xy_range: list[list[float]]  # [x, y][1st, 99th percentile]
    timbre_axes: dict[str, TimbreAxis]  # by name (TIMBRE_AXES); empty in older files


@dataclass(frozen=True)
class TimbreAxis:
    """A latent direction along which a descriptor of the decoded grains rises; ``span`` is
    how far the /timbre/NAME slider's full throw (1) moves the point along it."""

    direction: tuple[float, ...]
    span: float


@dataclass(frozen=True)
class VoiceModelInfo:
    """What the synth reads from a voice model's metadata."""

    source: str
    sample_rate: int
    architecture: str  # one of VOICE_ARCHITECTURES
    voices: int
    frame_size: int
    counter_cap: int
    trained_notes: list[int]
    pitch_tuning: list[tuple[float, float]]  # (note, semitones) the network is told to add
    post_filter: float = 0.0  # the pitch post-filter's gain (synth.voicebank.postfilter)
    low_cut: float = 0.0  # its high-pass, as a fraction of the note's fundamental; 0: none
    level_averaging: int = 0  # classes either side of each drawn one averaged into the output


@dataclass(frozen=True)
class ComposerModelInfo:
    """What the synth reads from a composer model's metadata."""

    source: str
    lowest_pitch: int
    pitches: int
    steps_per_quarter: int
    steps_per_bar: int
    top_line_center: float  # mean MIDI pitch of the training melodies
    held_out_evaluation: dict[str, Any]


def read_grain_model(path: str | Path) -> GrainModelInfo:
    """The grain model's metadata, checked; ModelFileError (one line) if it is not one."""
    metadata = read_metadata(path, expected_kind=KIND_GRAINS)
    return GrainModelInfo(
        source=str(path), sample_rate=metadata["sample_rate"],
        grain_size=metadata["grain_size"], latent_dim=metadata["latent_dim"],
        latent_quantiles=metadata["latent_quantiles"],
        latent_quantile_levels=metadata.get("latent_quantile_levels"),
        latent_std=metadata["latent_std"], latent_pca_mean=metadata["latent_pca_mean"],
        latent_pca_axes=metadata["latent_pca_axes"],
        latent_pca_xy_range=metadata["latent_pca_xy_range"],
        timbre_axes=_timbre_axes(metadata.get("timbre_axes", {}), metadata["latent_dim"],
                                 str(path)))


def _timbre_axes(value: Any, latent_dim: int, source: str) -> dict[str, TimbreAxis]:
    axes = {}
    try:
        for name, axis in value.items():
            direction = tuple(float(x) for x in axis["direction"])
            span = float(axis["span"])
            if name not in TIMBRE_AXES or len(direction) != latent_dim or not all(
                    math.isfinite(x) for x in (*direction, span)):
                raise ValueError(name)
            axes[name] = TimbreAxis(direction, span)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise ModelFileError(f"{source}: timbre_axes must map {', '.join(TIMBRE_AXES)} to "
                             f"a direction of {latent_dim} numbers and a span") from None
    return axes


def read_voice_model(path: str | Path) -> VoiceModelInfo:
    """The voice model's metadata, checked; ModelFileError (one line) if it is not one."""
    metadata = read_metadata(path, expected_kind=KIND_VOICE)
    return VoiceModelInfo(
        source=str(path), sample_rate=int(metadata["sample_rate"]),
        architecture=voice_architecture(metadata, str(path)), voices=int(metadata["voices"]),
        frame_size=int(metadata["frame_size"]), counter_cap=int(metadata["counter_cap"]),
        trained_notes=[int(note) for note in metadata["trained_notes"]],
        pitch_tuning=_pitch_tuning(metadata.get("pitch_tuning", []), str(path)),
        post_filter=_fraction(metadata.get("post_filter", 0.0), str(path), "post_filter",
                              "a gain"),
        low_cut=_fraction(metadata.get("low_cut", 0.0), str(path), "low_cut",
                          "a fraction of the fundamental"),
        level_averaging=_level_averaging(metadata.get("level_averaging", 0), str(path),
                                         voice_architecture(metadata, str(path))))


def _level_averaging(value: Any, source: str, architecture: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 0 <= value <= MAX_LEVEL_AVERAGING:
        raise ModelFileError(f"{source}: level_averaging must be a whole number of classes "
                             f"in 0..{MAX_LEVEL_AVERAGING}, not {value!r}")
    if value and architecture != "samplernn":
        raise ModelFileError(f"{source}: level_averaging is for the samplernn voice, "
                             f"not the {architecture}")
    return value


def _fraction(value: Any, source: str, key: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ModelFileError(f"{source}: {key} must be {what} in 0..1, not {value!r}")
    return float(value)


def _pitch_tuning(value: Any, source: str) -> list[tuple[float, float]]:
    try:
        pairs = [(float(note), float(shift)) for note, shift in value]
    except (TypeError, ValueError):
        raise ModelFileError(f"{source}: pitch_tuning must be [[note, semitones], ...]") from None
    if [note for note, _ in pairs] != sorted({note for note, _ in pairs}):
        raise ModelFileError(f"{source}: pitch_tuning notes must rise")
    return pairs


def read_composer_model(path: str | Path) -> ComposerModelInfo:
    """The composer model's metadata, checked; ModelFileError (one line) if it is not one."""
    metadata = read_metadata(path, expected_kind=KIND_COMPOSER)
    return ComposerModelInfo(
        source=str(path), lowest_pitch=int(metadata["lowest_pitch"]),
        pitches=int(metadata["pitches"]), steps_per_quarter=int(metadata["steps_per_quarter"]),
        steps_per_bar=int(metadata["steps_per_bar"]),
        top_line_center=float(metadata.get("top_line_center", 72.0)),
        held_out_evaluation=metadata.get("held_out_evaluation", {}))


def major_version(version: str) -> int:
    """The major part of a ``MAJOR.MINOR`` version string."""
    try:
        return int(str(version).split(".")[0])
    except ValueError as error:
        raise ModelFileError(f"unreadable format version {version!r}") from error


def read_metadata(path: str | Path, expected_kind: str | None = None) -> dict[str, Any]:
    """Read and validate the raw metadata of an exported model without loading torch (the
    exporter's round-trip check and reports; the synth reads the typed ``read_*_model``)."""
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
    validate_metadata(metadata, source=str(path), expected_kind=expected_kind)
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
    for key in ("sample_rate", "grain_size"):
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
