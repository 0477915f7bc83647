import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.control.presets import PresetError, PresetStore
from tests.jack_harness import (
    REPO,
    JackServer,
    SynthProcess,
    ask_state,
    free_udp_port,
    tools_missing,
)

STATE = [("/trajectory/grains", (32,)), ("/xy", (0.2, 0.9)), ("/grain/pos", (0.3,)),
         ("/grain/pitch", (1.5,)), ("/grain/dur", (0.05,)), ("/grain/density", (60.0,)),
         ("/grain/jitter", (0.1,)), ("/volume", (0.5,)), ("/scan/speed", (0.0,))]


def test_save_and_load_round_trip(tmp_path):
    store = PresetStore(tmp_path / "presets")
    path = store.save("verse-2", STATE)
    assert path == tmp_path / "presets" / "verse-2.json"
    assert store.load("verse-2") == STATE
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 65])
def test_names_that_could_escape_the_folder_are_refused(tmp_path, name):
    with pytest.raises(PresetError, match="not a preset name"):
        PresetStore(tmp_path).save(name, STATE)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "unreadable"),
        (json.dumps({"something": "else"}), "not a deepnote preset"),
        (json.dumps({"deepnote_preset": 1, "messages": [["/xy", [0.5]]]}),
         "entry 1 /xy: expected 2 arguments, got 1"),
        (json.dumps({"deepnote_preset": 1, "messages": [["/volume", [0.5]],
                                                         ["/volume", [7]]]}),
         "entry 2 /volume: argument 1 (gain) = 7 is outside 0..1"),
        (json.dumps({"deepnote_preset": 1, "messages": [["/preset/load", ["x"]]]}),
         "has no place in a preset"),
    ],
)
def test_corrupt_presets_are_refused_with_the_reason(tmp_path, content, reason):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(PresetError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        PresetStore(tmp_path).load("bad")


def test_unwritable_folder_keeps_the_previous_preset(tmp_path):
    store = PresetStore(tmp_path)
    store.save("keep", STATE)
    blocked = PresetStore(tmp_path / "keep.json")  # a file where a folder should be
    with pytest.raises(PresetError, match="cannot save preset"):
        blocked.save("other", STATE)
    assert store.load("keep") == STATE


def _render(model, out, *extra):
    result = subprocess.run([sys.executable, "-m", "synth", "--model", str(model), "--audio",
                             "offline", "--render", str(out), "--duration", "2", *extra],
                            capture_output=True, text=True, cwd=REPO, timeout=180)
    assert result.returncode == 0, result.stderr
    return soundfile.read(out, dtype="float32")[0]


def test_preset_at_start_sounds_like_the_same_state_from_a_score(tiny_grain_model, tmp_path):
    PresetStore(tmp_path / "presets").save("intro", STATE)
    score = tmp_path / "intro.score"
    score.write_text("".join(f"0 {address} {' '.join(str(v) for v in values)}\n"
                             for address, values in STATE))
    from_preset = _render(tiny_grain_model, tmp_path / "preset.wav", "--preset", "intro",
                          "--preset-dir", str(tmp_path / "presets"))
    from_score = _render(tiny_grain_model, tmp_path / "score.wav", "--score", str(score))
    plain = _render(tiny_grain_model, tmp_path / "plain.wav")
    start = 48000 // 2  # after both have settled
    assert np.allclose(from_preset[start:], from_score[start:], atol=1e-6)
    assert not np.allclose(from_preset[start:], plain[start:], atol=1e-3)


def test_missing_preset_at_start_is_a_usage_error(tiny_grain_model, tmp_path):
    result = subprocess.run([sys.executable, "-m", "synth", "--model", str(tiny_grain_model),
                             "--audio", "offline", "--render", str(tmp_path / "x.wav"),
                             "--preset", "nope", "--preset-dir", str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert "no preset nope in" in result.stderr and "Traceback" not in result.stderr


def _osc(address, *values) -> bytes:
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value)
    return builder.build().dgram


@pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")
def test_state_replies_and_presets_over_osc(tiny_grain_model, tmp_path):
    jack = JackServer()
    port = free_udp_port()
    presets = tmp_path / "presets"
    synth = SynthProcess(jack, tiny_grain_model, port, "--preset-dir", str(presets))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        synth.wait_for("playing")
        for datagram in (_osc("/xy", 0.2, 0.9), _osc("/grain/pitch", 1.5),
                         _osc("/volume", 0.5)):
            sender.sendto(datagram, ("127.0.0.1", port))
        time.sleep(0.3)
        state = ask_state(port)
        assert state["/state/mode"] == ["point"]
        assert state["/state/xy"] == pytest.approx([0.2, 0.9])
        assert state["/state/grain/pitch"] == pytest.approx([1.5])
        sender.sendto(_osc("/preset/save", "chorus"), ("127.0.0.1", port))
        synth.wait_for("saved preset chorus")
        assert (presets / "chorus.json").is_file()
        (presets / "broken.json").write_text("{")
        sender.sendto(_osc("/volume", 0.9), ("127.0.0.1", port))
        sender.sendto(_osc("/preset/load", "broken"), ("127.0.0.1", port))
        synth.wait_for("preset refused: preset broken is unreadable")
        time.sleep(0.2)
        assert ask_state(port)["/state/volume"] == pytest.approx([0.9])
        sender.sendto(_osc("/preset/load", "chorus"), ("127.0.0.1", port))
        synth.wait_for("loaded preset chorus")
        time.sleep(0.2)
        assert ask_state(port)["/state/volume"] == pytest.approx([0.5])
        sender.sendto(_osc("/preset/save", "../../etc/passwd"), ("127.0.0.1", port))
        time.sleep(0.3)
        assert not list(tmp_path.rglob("passwd*"))
    finally:
        sender.close()
        code = synth.interrupt()
        jack.stop()
    assert code == 0


def test_latent_dim_moves_one_dimension_of_the_point_playing(tiny_grain_model, tmp_path):
    from synth.contract.model_file import read_grain_model
    from synth.grains.latent_space import LatentSpace

    space = LatentSpace(read_grain_model(tiny_grain_model))
    expected = space.with_quantile(space.from_xy(np.array([0.95, 0.05])), 0, 0.5)
    assert not np.allclose(expected, space.from_quantiles(np.full(space.dim, 0.5)))
    renders = {}
    for name, lines in (("dim", ["/xy 0.95 0.05", "/latent/dim 0 0.5"]),
                        ("z", ["/xy 0.95 0.05",
                               "/latent/z " + " ".join(repr(float(z)) for z in expected)]),
                        ("all", ["/xy 0.95 0.05", "/latent " + " ".join(["0.5"] * space.dim)])):
        score = tmp_path / f"{name}.score"
        score.write_text("".join(f"0.5 {line}\n" for line in lines))
        renders[name] = _render(tiny_grain_model, tmp_path / f"{name}.wav", "--score",
                                str(score))
    settled = 48000 + 48000 // 2
    assert np.allclose(renders["dim"][settled:], renders["z"][settled:], atol=1e-6)
    # before, /latent/dim edited the last /latent message: every other dimension went to 0.5
    assert not np.allclose(renders["dim"][settled:], renders["all"][settled:], atol=1e-3)
