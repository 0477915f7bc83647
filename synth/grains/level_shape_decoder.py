"""The level-shape grain VAE's decoder in numpy, so the decoding worker needs no torch.

It computes what ``training.grains.level_shape.LevelShapeVAE.decode`` does, from the weights
and constants a grain file carries (:mod:`synth.contract.module_weights`): a two-hidden-layer
GELU network plus a linear path over the shape dimensions, the sum scaled to unit RMS and
then to the level dimension's dB. Torch is about 200 MB of the worker's memory; this needs
numpy and scipy's ``erf`` (the exact GELU the network was trained with).
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from synth.contract.module_weights import ModuleWeights

BODY = "vae.decoder_body"
LINEAR = "vae.decoder_linear"
BODY_LAYERS = (0, 2, 4)  # the Linear layers of decoder_body; GELUs sit between them
CONSTANTS = ("level_dims", "level_floor_db", "level_centre_db", "level_unit_db")


def _gelu(values: np.ndarray) -> np.ndarray:
    return 0.5 * values * (1.0 + erf(values * np.float32(1 / np.sqrt(2))))


class LevelShapeDecoder:
    """Latents [grains, latent_dim] -> grains [grains, grain_size] in [-1, 1], float32."""

    def __init__(self, weights: ModuleWeights) -> None:
        state = weights.state_dict()
        self._body = [(state[f"{BODY}.{i}.weight"].T.copy(), state[f"{BODY}.{i}.bias"])
                      for i in BODY_LAYERS]
        self._linear = (state[f"{LINEAR}.weight"].T.copy(), state[f"{LINEAR}.bias"])
        self.level_dims = int(weights.level_dims)
        self._floor_db = np.float32(weights.level_floor_db)
        self._centre_db = np.float32(weights.level_centre_db)
        self._unit_db = np.float32(weights.level_unit_db)

    @staticmethod
    def reads(weights: ModuleWeights) -> bool:
        """Whether ``weights`` are a level-shape decoder's (other grain models need torch)."""
        state = weights.state_dict()
        names = [f"{BODY}.{i}.{part}" for i in BODY_LAYERS for part in ("weight", "bias")]
        return all(name in state for name in [*names, f"{LINEAR}.weight", f"{LINEAR}.bias"]) \
            and all(hasattr(weights, name) for name in CONSTANTS)

    def decode_grains(self, latents: np.ndarray) -> np.ndarray:
        latents = np.asarray(latents, dtype=np.float32)
        shape_code = latents[:, self.level_dims:]
        hidden = shape_code
        for index, (weight, bias) in enumerate(self._body):
            hidden = hidden @ weight + bias
            if index < len(self._body) - 1:
                hidden = _gelu(hidden)
        weight, bias = self._linear
        shape = hidden + (shape_code @ weight + bias)
        unit = shape / np.sqrt(np.mean(np.square(shape), axis=-1, keepdims=True)
                               + np.float32(1e-8))
        level = np.maximum(latents[:, 0] * self._unit_db + self._centre_db, self._floor_db)
        gain = np.where(level <= self._floor_db, np.float32(0.0),
                        np.power(np.float32(10.0), level / np.float32(20.0)))
        return np.clip(unit * gain[:, None], -1.0, 1.0).astype(np.float32, copy=False)
