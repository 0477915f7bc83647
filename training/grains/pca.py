"""PCA baseline: the best linear 16-dimensional code for the same grains."""

from __future__ import annotations

import numpy as np


class PCACodec:
    """Principal component analysis fitted by SVD; encode/decode like the VAE."""

    def __init__(self, components: int) -> None:
        self.components = components
        self.mean: np.ndarray | None = None
        self.axes: np.ndarray | None = None
        self.explained_variance: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> PCACodec:
        data = np.asarray(data, dtype=np.float64)
        if data.shape[0] < 2:
            raise ValueError("PCA needs at least two examples")
        self.mean = data.mean(axis=0)
        _, singular_values, vt = np.linalg.svd(data - self.mean, full_matrices=False)
        self.axes = vt[: self.components]
        self.explained_variance = singular_values[: self.components] ** 2 / (len(data) - 1)
        return self

    def encode(self, data: np.ndarray) -> np.ndarray:
        mean, axes = self._fitted()
        return (np.asarray(data, dtype=np.float64) - mean) @ axes.T

    def decode(self, codes: np.ndarray) -> np.ndarray:
        mean, axes = self._fitted()
        return codes @ axes + mean

    def reconstruct(self, data: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(data)).astype(np.float32)

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.axes is None:
            raise RuntimeError("PCACodec used before fit()")
        return self.mean, self.axes
