"""From performer coordinates (quantiles, the XY plane, drawn paths) to latent vectors,
using the statistics of the training latents stored in the model file."""

from __future__ import annotations

import numpy as np

from synth.contract.model_file import GrainModelInfo


class LatentSpace:
    def __init__(self, model: GrainModelInfo) -> None:
        self.dim = model.latent_dim
        self.levels = np.asarray(model.latent_quantile_levels or
                                 np.linspace(0, 1, len(model.latent_quantiles)))
        self.quantiles = np.asarray(model.latent_quantiles, dtype=np.float64)
        self.std = np.asarray(model.latent_std, dtype=np.float64)
        self.pca_mean = np.asarray(model.latent_pca_mean, dtype=np.float64)
        self.axes = np.asarray(model.latent_pca_axes, dtype=np.float64)[:2]
        self.xy_range = np.asarray(model.latent_pca_xy_range, dtype=np.float64)
        self.timbre_axes = {name: np.asarray(axis.direction, dtype=np.float64) * axis.span
                            for name, axis in model.timbre_axes.items()}

    def timbre_offset(self, sliders: dict[str, float]) -> np.ndarray:
        """How far the timbre sliders (-1..1 each) move a point: the sum of each axis's
        full-throw displacement times its slider."""
        offset = np.zeros(self.dim)
        for name, value in sliders.items():
            if name in self.timbre_axes:
                offset += value * self.timbre_axes[name]
        return offset

    def from_quantiles(self, quantiles: np.ndarray) -> np.ndarray:
        """Each value in [0, 1] is a quantile of the training latents along its dimension."""
        quantiles = np.asarray(quantiles, dtype=np.float64)
        columns = [np.interp(quantiles[..., d], self.levels, self.quantiles[:, d])
                   for d in range(self.dim)]
        return np.stack(columns, axis=-1)

    def with_quantile(self, point: np.ndarray, dim: int, quantile: float) -> np.ndarray:
        """``point`` with dimension ``dim`` moved to that quantile of the training latents."""
        moved = np.array(point, dtype=np.float64)
        moved[dim] = np.interp(quantile, self.levels, self.quantiles[:, dim])
        return moved

    def from_xy(self, xy: np.ndarray) -> np.ndarray:
        """Points [..., 2] in [0, 1]^2 on the plane of the first two principal axes."""
        xy = np.asarray(xy, dtype=np.float64)
        low, high = self.xy_range[:, 0], self.xy_range[:, 1]
        coordinates = low + xy * (high - low)
        return self.pca_mean + coordinates @ self.axes


def line_path(end: np.ndarray, count: int) -> np.ndarray:
    """The prototype's trajectory: ``count`` points from -end to +end through the origin."""
    return np.linspace(-1.0, 1.0, count)[:, None] * np.asarray(end, dtype=np.float64)[None, :]


def smooth_path(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points along a Catmull-Rom spline through ``points`` [k, dim] (k >= 2)."""
    points = np.asarray(points, dtype=np.float64)
    padded = np.concatenate([points[:1], points, points[-1:]])
    positions = np.linspace(0.0, len(points) - 1, count)
    segment = np.minimum(positions.astype(int), len(points) - 2)
    t = (positions - segment)[:, None]
    p0, p1, p2, p3 = (padded[segment + offset] for offset in range(4))
    return 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
