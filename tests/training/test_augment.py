"""The random equaliser that widens what a grain model learns to describe."""

import numpy as np
import torch

from training.grains.augment import random_equaliser


def _band_db(grains: torch.Tensor) -> np.ndarray:
    power = torch.fft.rfft(grains * torch.hann_window(grains.shape[-1])).abs().square()
    bands = power[:, 1:].reshape(len(grains), 8, -1).mean(-1)
    return 10 * np.log10(bands.numpy() + 1e-12)


def test_part_of_the_batch_changes_its_envelope_and_keeps_its_level():
    generator = torch.Generator().manual_seed(0)
    grains = 0.1 * torch.randn(64, 512, generator=generator)
    shaped = random_equaliser(grains, 0.5, 24.0, generator=generator)
    assert shaped.shape == grains.shape
    assert torch.equal(shaped[32:], grains[32:]), "the rest of the batch is as it was"
    rms = lambda x: x.square().mean(-1).sqrt()  # noqa: E731
    torch.testing.assert_close(rms(shaped[:32]), rms(grains[:32]), rtol=1e-4, atol=1e-6)
    change = _band_db(shaped[:32]) - _band_db(grains[:32])
    spread = (change - change.mean(-1, keepdims=True)).std(-1)
    assert np.median(spread) > 6.0, "each grain's envelope was reshaped by several dB"
    assert len({tuple(np.round(c, 1)) for c in change}) == 32, "each its own EQ"


def test_nothing_to_do_is_nothing_done():
    grains = torch.randn(8, 512)
    assert random_equaliser(grains, 0.0, 24.0) is grains
    assert random_equaliser(grains, 0.5, 0.0) is grains
