import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile

from synth.contract.model_file import read_metadata
from synth.control.addresses import ADDRESSES, address_table_markdown
from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import CEILING, REPO, spectral_distance_db

SCORE = """\
# a short performance
1.0 /latent 0.02 0.98 0.02 0.98 0.02 0.98 0.02 0.98 0.02 0.98 0.02 0.98 0.02 0.98 0.02 0.98
2.0 /trajectory/xy 0 0 1 1 0 1 1 0
2.0 /scan/speed 0.5
2.5 /grain/pitch 2
"""


def synth(*arguments: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synth", *arguments], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout)


def render(model, tmp_path, name: str, score: str = SCORE, seed: int = 0) -> np.ndarray:
    score_path = tmp_path / f"{name}.score"
    score_path.write_text(score)
    out = tmp_path / f"{name}.wav"
    result = synth("--model", str(model), "--audio", "offline", "--render", str(out),
                   "--duration", "3.5", "--score", str(score_path), "--seed", str(seed))
    assert result.returncode == 0, result.stderr
    audio, rate = soundfile.read(out, dtype="float32", always_2d=True)
    assert rate == 48000
    return audio


def test_render_is_bit_identical_and_obeys_the_score(tiny_grain_model, tmp_path):
    first = render(tiny_grain_model, tmp_path, "first")
    second = render(tiny_grain_model, tmp_path, "second")
    assert np.array_equal(first, second)
    assert first.shape == (int(3.5 * 48000 // 256 + 1) * 256, 2) or abs(len(first) - 168000) < 512
    assert np.isfinite(first).all()
    assert np.abs(first).max() <= CEILING
    rate = 48000
    typical, latent, path = first[int(0.4 * rate):rate], first[int(1.3 * rate):2 * rate], \
        first[int(2.1 * rate):int(2.5 * rate)]
    assert np.sqrt(np.mean(typical**2)) > 1e-3, "silent before any control"
    assert spectral_distance_db(typical, latent) > 2.0
    assert spectral_distance_db(latent, path) > 2.0
    other_seed = render(tiny_grain_model, tmp_path, "other", seed=1)
    assert not np.array_equal(first, other_seed)


def test_fade_in_and_fade_out(tiny_grain_model, tmp_path):
    audio = render(tiny_grain_model, tmp_path, "fades", score="")
    assert np.abs(audio[:256]).max() < 0.05
    assert np.abs(audio[-256:]).max() < 0.01


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("1.0 /xy 0.5\n", "score:1: /xy: expected 2 arguments, got 1"),
        ("# ok\nsoon /xy 0.5 0.5\n", "score:2:"),
        ("1.0 /reverb 1\n", "/reverb: unknown address"),
    ],
)
def test_bad_score_is_one_line_and_exit_2(tiny_grain_model, tmp_path, score, message):
    path = tmp_path / "bad.score"
    path.write_text(score)
    result = synth("--model", str(tiny_grain_model), "--audio", "offline", "--render",
                   str(tmp_path / "x.wav"), "--score", str(path))
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_wrong_model_files_are_refused_with_the_reason(tiny_grain_model, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 100)
    broken = tmp_path / "broken.pt"
    with zipfile.ZipFile(tiny_grain_model) as old, zipfile.ZipFile(broken, "w") as new:
        for item in old.infolist():
            if not item.filename.endswith("data.pkl"):
                new.writestr(item, old.read(item.filename))
    cases = [(tmp_path / "missing.pt", "no such model file"),
             (garbage, "not a TorchScript model file"),
             (broken, "TorchScript cannot load it")]
    for path, reason in cases:
        result = synth("--model", str(path), "--audio", "offline", "--render",
                       str(tmp_path / "x.wav"), "--duration", "1")
        assert result.returncode == 2, result.stderr
        assert reason in result.stderr and "Traceback" not in result.stderr


def test_usage_errors_exit_2_without_traceback(tiny_grain_model, tmp_path):
    for arguments, reason in [
        (["--audio", "offline"], "--audio offline needs --render"),
        (["--audio", "jack", "--render", "x.wav"], "need --audio offline"),
        (["--osc-port", "70000"], "argument --osc-port: 70000 is outside 0..65535"),
        (["--buffer", "1000000"], "argument --buffer: 1000000 is outside 16..8192"),
        (["--duration", "nan"], "argument --duration: nan is not a finite number"),
        (["--duration", "0"], "argument --duration: 0 must be more than 0"),
        (["--seed", "-1"], "argument --seed: -1 is outside 0..4294967295"),
        (["--sr", "10000000"], "argument --sr: 10000000 is outside 8000..192000"),
        (["--sr", "fast"], "argument --sr: 'fast' is not a whole number"),
        (["--audio", "offline", "--render", str(tmp_path / "no" / "x.wav")], "no folder"),
        (["--audio", "offline", "--render", str(tmp_path / "x.mp3")],
         "audio is written as .aif, .aiff, .flac, .wav"),
        (["--audio", "offline", "--render", "/dev/null"], "it is not a regular file"),
        (["--audio", "offline", "--render", str(tmp_path)], "it is a directory"),
    ]:
        result = synth("--model", str(tiny_grain_model), *arguments)
        assert result.returncode == 2 and reason in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_portaudio_without_a_sound_card_fails_with_one_line(tiny_grain_model):
    from synth.grains.engine import pyo

    if pyo.pa_get_default_output() >= 0:
        pytest.skip("this machine has a sound card")
    result = synth("--model", str(tiny_grain_model))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "deepnote-synth: error: no audio output device found; use --audio jack with a "
        "running JACK server, or --audio offline --render out.wav"]


def test_osc_help_and_readme_show_the_one_address_table():
    result = synth("--osc-help")
    assert result.returncode == 0
    for address in ADDRESSES:
        assert address.path in result.stdout
    readme = (REPO / "README.md").read_text()
    assert address_table_markdown() in readme, "README's OSC table is out of date"


def test_shipped_model_is_a_valid_grains_model():
    metadata = read_metadata(DEFAULT_MODEL)
    assert metadata["kind"] == "grains" and metadata["latent_dim"] == 16
    assert DEFAULT_MODEL.stat().st_size < 20 * 1024 * 1024


def test_jack_without_a_server_fails_with_one_clear_line(tiny_grain_model):
    environment = {**os.environ, "JACK_DEFAULT_SERVER": "deepnote-no-such-server",
                   "JACK_NO_START_SERVER": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "synth", "--model", str(tiny_grain_model), "--audio", "jack",
         "--osc-port", "0"], capture_output=True, text=True, cwd=REPO, env=environment,
        timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "deepnote-synth: error: the jack audio server did not start (is jackd running? "
        "see JACK_DEFAULT_SERVER)"]


def test_failed_render_keeps_the_previous_file(tiny_grain_model, tmp_path):
    previous = tmp_path / "take.wav"
    previous.write_bytes(b"the previous take")
    score = tmp_path / "bad.score"
    score.write_text("1 /xy 0.5\n")
    result = synth("--model", str(tiny_grain_model), "--audio", "offline", "--render",
                   str(previous), "--score", str(score))
    assert result.returncode == 2
    assert previous.read_bytes() == b"the previous take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.score", "take.wav"]
    good = render(tiny_grain_model, tmp_path, "take", score="")
    assert len(good) > 0 and not list(tmp_path.glob(".*partial*"))


def test_a_flac_render_is_flac_and_a_symlink_is_written_through(tiny_grain_model, tmp_path):
    real = tmp_path / "real.flac"
    real.write_bytes(b"old")
    link = tmp_path / "take.flac"
    link.symlink_to(real)
    result = synth("--model", str(tiny_grain_model), "--audio", "offline", "--render",
                   str(link), "--duration", "1")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and soundfile.info(str(real)).format == "FLAC"
    audio, rate = soundfile.read(str(real))
    assert rate == 48000 and audio.shape[1] == 2 and np.abs(audio).max() > 1e-3
