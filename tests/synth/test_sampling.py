import numpy as np
import pytest

from synth.voicebank.sampling import CUTOFF, averaged_levels, draw_classes


def _softmax(logits: np.ndarray) -> np.ndarray:
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_draws_follow_the_softmax_of_the_logits_over_the_temperature(temperature):
    random = np.random.default_rng(0)
    logits = np.full(256, -60.0, np.float32)
    logits[[10, 11, 12, 200]] = [2.0, 1.0, 0.0, 1.5]
    draws = 40000
    classes = draw_classes(np.tile(logits, (draws, 1)), 1.0 / temperature,
                           random.random(draws, dtype=np.float32))
    frequencies = np.bincount(classes, minlength=256) / draws
    expected = _softmax(logits / temperature)
    assert np.abs(frequencies - expected).max() < 0.01
    assert frequencies[13:200].sum() == 0.0  # e^-60 apart: never drawn


def test_a_uniform_at_the_top_draws_the_last_class_in_the_running():
    logits = np.zeros((2, 256), np.float32)
    logits[:, 255] = 2 * CUTOFF  # out of the running
    below_one = np.nextafter(np.float32(1.0), np.float32(0.0))
    classes = draw_classes(logits, 1.0, np.array([below_one, 0.0], np.float32))
    assert classes.tolist() == [254, 0]


def test_the_compiled_draw_is_the_numpy_draw():
    pytest.importorskip("numba")
    from synth.voicebank.compiled_sampling import draw_class

    random = np.random.default_rng(1)
    logits = (random.standard_normal((2000, 256)) * 8.0).astype(np.float32)
    uniforms = random.random(2000, dtype=np.float32)
    expected = draw_classes(logits, 1.25, uniforms)
    candidates, weights = np.empty(256, np.int64), np.empty(256, np.float32)
    compiled = [draw_class(row, np.float32(1.25), uniform, candidates, weights)
                for row, uniform in zip(logits, uniforms, strict=True)]
    assert compiled == expected.tolist()


def test_averaged_levels_lie_between_the_neighbours_and_lean_to_the_likelier():
    values = np.linspace(-1.0, 1.0, 8).astype(np.float32)
    logits = np.full((3, 8), -50.0, np.float32)
    logits[0, 3:6] = [0.0, 0.0, 0.0]  # three equally likely: their middle
    logits[1, 3:5] = [0.0, np.log(3.0)]  # the upper neighbour three times as likely
    logits[2, 7] = 0.0  # the top class: no neighbour above
    chosen = np.array([4, 3, 7])
    played = averaged_levels(logits, chosen, 1, 1.0, values)
    assert played[0] == pytest.approx(values[4])
    assert played[1] == pytest.approx((values[3] + 3 * values[4]) / 4)
    assert played[2] == pytest.approx(values[7], abs=1e-6)
    assert averaged_levels(logits, chosen, 0, 1.0, values).tolist() == values[chosen].tolist()


def test_the_compiled_average_is_the_numpy_average():
    pytest.importorskip("numba")
    from synth.voicebank.compiled_sampling import averaged_level

    random = np.random.default_rng(2)
    logits = (random.standard_normal((500, 256)) * 4.0).astype(np.float32)
    values = np.sort(random.uniform(-1, 1, 256)).astype(np.float32)
    chosen = random.integers(0, 256, 500)
    chosen[:2] = [0, 255]  # the ends of the scale
    for spread in (0, 2, 5):
        expected = averaged_levels(logits, chosen, spread, 0.8, values)
        compiled = [averaged_level(row, int(c), spread, np.float32(0.8), values)
                    for row, c in zip(logits, chosen, strict=True)]
        np.testing.assert_allclose(compiled, expected, rtol=1e-5, atol=1e-6)
