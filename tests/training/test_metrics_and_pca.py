import numpy as np
import pytest

from synth.grains.tables import overlap_add
from training.core.metrics import (
    grain_power_spectra,
    log_spectral_distance,
    spectral_convergence,
    spectral_scores,
    total_spectral_convergence,
)
from training.grains.cutting import slice_grains
from training.grains.pca import PCACodec


def test_pca_recovers_a_hand_built_subspace():
    # Points on the plane spanned by (1, 1, 0)/sqrt2 and (0, 0, 1), offset by (3, -1, 2).
    coefficients = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    axes = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    axes[0] /= np.sqrt(2.0)
    data = coefficients @ axes + np.array([3.0, -1.0, 2.0])
    pca = PCACodec(2).fit(data)
    np.testing.assert_allclose(pca.mean, [3.0, -1.0, 2.0])
    # Variance along axis 1: (4 + 4) / 3; along axis 2: (1 + 1) / 3.
    np.testing.assert_allclose(pca.explained_variance, [8 / 3, 2 / 3])
    np.testing.assert_allclose(np.abs(pca.axes), np.abs(axes), atol=1e-12)
    np.testing.assert_allclose(pca.reconstruct(data), data, atol=1e-6)
    one = PCACodec(1).fit(data)
    # Dropping the second axis leaves exactly the (0, 0, +-1) offsets as error.
    np.testing.assert_allclose(one.reconstruct(data)[2], [3.0, -1.0, 2.0], atol=1e-6)


def test_pca_refuses_use_before_fit():
    with pytest.raises(RuntimeError):
        PCACodec(2).encode(np.zeros((2, 3)))


def test_log_spectral_distance_of_a_gain_change_is_the_gain_in_db():
    rng = np.random.default_rng(0)
    grains = rng.standard_normal((20, 512)).astype(np.float32) * 0.3
    reference = grain_power_spectra(grains)
    louder = grain_power_spectra(grains * 10 ** (6 / 20))
    np.testing.assert_allclose(log_spectral_distance(reference, louder), 6.0, atol=0.05)
    assert spectral_scores(reference, reference) == {"lsd_db": 0.0, "spectral_convergence": 0.0}
    np.testing.assert_allclose(spectral_convergence(reference, louder), 10 ** 0.3 - 1, rtol=1e-6)


def test_total_spectral_convergence_is_not_dominated_by_silent_frames():
    rng = np.random.default_rng(2)
    loud = grain_power_spectra(rng.standard_normal((10, 512)))
    quiet = grain_power_spectra(1e-6 * rng.standard_normal((10, 512)))
    reference = np.concatenate([loud, quiet])
    estimate = np.concatenate([loud, quiet * 1e4])  # wrong only where nothing is heard
    assert np.mean(spectral_convergence(reference, estimate)) > 40
    assert total_spectral_convergence(reference, estimate) < 1e-3


def test_full_scale_sine_peaks_near_zero_db():
    t = np.arange(512)
    sine = np.sin(2 * np.pi * 64 * t / 512)[None, :]
    assert grain_power_spectra(sine).max() == pytest.approx(1.0, rel=1e-6)


def test_overlap_add_rebuilds_the_interior_exactly():
    signal = np.random.default_rng(1).standard_normal(4096).astype(np.float32)
    rebuilt = overlap_add(slice_grains(signal, 512, 256), 256)
    np.testing.assert_allclose(rebuilt[512:-512], signal[512:len(rebuilt) - 512], atol=1e-5)
