"""Timbre axes: descriptors that read what they claim, axes stored at export, and the
/timbre/NAME controls that move the sound along them."""

from pathlib import Path

import numpy as np
import pytest
import torch

from synth.contract.model_file import TIMBRE_AXES, read_grain_model
from synth.contract.torchscript import load_torchscript
from synth.shipped import DEFAULT_MODEL
from training.grains.timbre import grain_descriptors, timbre_axes

RATE = 16000


def test_descriptors_tell_a_sine_from_noise_and_low_from_high():
    t = np.arange(512) / RATE
    rng = np.random.default_rng(0)
    grains = np.stack([0.5 * np.sin(2 * np.pi * 220 * t), 0.5 * np.sin(2 * np.pi * 2000 * t),
                       rng.normal(0, 0.1, 512)])
    found = grain_descriptors(grains, RATE)
    assert found["bright"][0] < found["bright"][1] < found["bright"][2]
    assert found["noisy"][2] > found["noisy"][0] + 30  # flatness, dB
    assert found["pitched"][0] > 0.9 > 0.3 > found["pitched"][2]
    assert found["loud"][0] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)


def test_axes_of_a_toy_decoder_point_where_the_descriptor_rises():
    """A decoder whose brightness is latent dimension 2: the bright axis must find it."""
    t = np.arange(512) / RATE

    def decode(latents: np.ndarray) -> np.ndarray:
        frequency = 1000 + 400 * latents[:, 2:3] + 50 * latents[:, 1:2]
        return 0.3 * np.sin(2 * np.pi * frequency * t)

    latents = np.random.default_rng(1).normal(size=(3000, 16))
    axes = timbre_axes(decode, latents, RATE, level_dims=1)
    bright = np.asarray(axes["bright"]["direction"])
    assert bright[2] > 0.95 and bright[0] == 0.0
    assert axes["bright"]["spearman_median"] > 0.99


@pytest.fixture(scope="module")
def shipped_axes():
    model = read_grain_model(DEFAULT_MODEL)
    if not model.timbre_axes:
        pytest.skip("the shipped grain model has no timbre axes")
    return model


def test_the_shipped_model_carries_its_axes(shipped_axes):
    assert set(shipped_axes.timbre_axes) == set(TIMBRE_AXES)
    for axis in shipped_axes.timbre_axes.values():
        assert np.linalg.norm(axis.direction) == pytest.approx(1.0, abs=1e-6)
        assert axis.direction[0] == 0.0, "the level dimension is no timbre"
        assert axis.span > 0


def test_the_bright_slider_brightens_what_the_shipped_model_decodes(shipped_axes):
    """Through the synth's own latent space: the same points, the slider at -1 and +1."""
    from synth.grains.latent_space import LatentSpace

    space = LatentSpace(shipped_axes)
    model = load_torchscript(Path(DEFAULT_MODEL))
    points = space.from_quantiles(np.random.default_rng(2).uniform(0.1, 0.9, (64, 16)))
    centroids = []
    for value in (-1.0, 1.0):
        moved = points + space.timbre_offset({"bright": value})
        with torch.no_grad():
            grains = model.decode_grains(torch.from_numpy(moved.astype(np.float32))).numpy()
        centroids.append(grain_descriptors(grains, RATE)["bright"])
    darker, brighter = centroids
    assert np.median(brighter / darker) > 1.5, np.median(brighter / darker)
    assert np.mean(brighter > darker) > 0.8


def test_a_score_brightens_the_offline_render_with_the_slider(shipped_axes, tmp_path):
    """Through the performer's path: deepnote-synth renders a score that holds one point and
    moves /timbre/bright from -1 to +1; the spectral centroid of what it plays rises."""
    import subprocess
    import sys

    import soundfile

    from tests.jack_harness import REPO

    score = tmp_path / "bright.score"
    score.write_text("0.0 /xy 0.5 0.5\n0.0 /timbre/bright -1\n2.0 /timbre/bright 1\n")
    out = tmp_path / "bright.wav"
    result = subprocess.run(
        [sys.executable, "-m", "synth", "--model", str(DEFAULT_MODEL), "--audio", "offline",
         "--render", str(out), "--duration", "4", "--score", str(score), "--no-voice"],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    audio, rate = soundfile.read(out, dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)

    def centroid(start: float, end: float) -> float:
        part = mono[int(start * rate):int(end * rate)]
        power = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
        return float(power @ np.fft.rfftfreq(len(part), 1 / rate) / power.sum())

    dark, bright = centroid(1.0, 1.9), centroid(3.0, 3.9)
    assert bright > 1.3 * dark, (dark, bright)
