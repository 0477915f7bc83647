"""Grain model presets: which network and which loss, chosen by name at training time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from training.grains.level_shape import LevelShapeVAE
from training.grains.vae import GrainVAE

GrainModel = GrainVAE | LevelShapeVAE


class GrainArchitecture(StrEnum):
    CONV = "conv"  # the prototype's convolutional VAE over raw grains
    LEVEL_SHAPE = "level-shape"  # level apart, a fully connected VAE over unit-RMS grains


@dataclass(frozen=True)
class GrainModelConfig:
    """The network and the weights of each loss term (0 leaves a term out).

    ``squared_error_weight``: the prototype's Gaussian likelihood, summed over samples.
    ``shape_error_weight``: mean squared error of the grain scaled to the target's RMS.
    ``lsd_weight``: the evaluation's log-spectral distance, in dB.
    ``stft_weight``: multi-resolution STFT loss (on unit-RMS grains for level-shape).
    ``eq_fraction``: the share of each batch passed through a random EQ whose gains have a
    standard deviation of ``eq_range_db`` (training/grains/augment.py); 0 trains on the
    grains as they are.
    """

    preset: str = "prototype"
    architecture: GrainArchitecture = GrainArchitecture.CONV
    beta: float = 0.01
    stft_weight: float = 0.0
    squared_error_weight: float = 1.0
    shape_error_weight: float = 0.0
    lsd_weight: float = 0.0
    hidden: int = 768
    eq_fraction: float = 0.0
    eq_range_db: float = 24.0

    def __post_init__(self) -> None:
        # Run folders store the architecture as its string value.
        object.__setattr__(self, "architecture", GrainArchitecture(self.architecture))


GRAIN_PRESETS: dict[str, GrainModelConfig] = {
    # The original prototype: beta-weighted ELBO with a Gaussian (squared-error) likelihood.
    "prototype": GrainModelConfig(preset="prototype", beta=0.01, stft_weight=0.0),
    # The same network with a multi-resolution STFT term, which listens like an ear does.
    "spectral": GrainModelConfig(preset="spectral", beta=0.01, stft_weight=4.0),
    # Loudness apart from timbre, trained on what the evaluation measures, half of each
    # batch through a random EQ (it describes unfamiliar audio better): the default.
    "level-shape": GrainModelConfig(preset="level-shape",
                                    architecture=GrainArchitecture.LEVEL_SHAPE, beta=0.01,
                                    stft_weight=1.0, squared_error_weight=0.0,
                                    shape_error_weight=10.0, lsd_weight=0.1,
                                    eq_fraction=0.5),
}
DEFAULT_GRAIN_PRESET = "level-shape"


def build_grain_model(config: GrainModelConfig, grain_size: int) -> GrainModel:
    if config.architecture is GrainArchitecture.LEVEL_SHAPE:
        return LevelShapeVAE(grain_size=grain_size, hidden=config.hidden)
    return GrainVAE(grain_size=grain_size)
