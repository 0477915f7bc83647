"""The MIDI and voice options of deepnote-synth: listing, and one-line usage errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import REPO, JackServer, tools_missing


def synth(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synth", *arguments], capture_output=True,
                          text=True, cwd=REPO, timeout=120, env=env)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_list_midi_without_a_jack_server_is_one_line() -> None:
    env = {**os.environ, "JACK_DEFAULT_SERVER": "deepnote-nobody-here", "JACK_NO_START_SERVER": "1"}
    result = synth("--list-midi", "--midi-api", "jack", env=env)
    assert result.returncode == 2
    assert "error: MIDI (jack) is unavailable" in one_error_line(result)


@pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")
def test_list_midi_shows_a_jack_midi_port() -> None:
    jack = pytest.importorskip("jack")
    server = JackServer()
    client = jack.Client("pianist", servername=server.name, no_start_server=True)
    try:
        client.midi_outports.register("keys")
        client.activate()
        result = synth("--list-midi", "--midi-api", "jack", env=server.env)
        assert result.returncode == 0, result.stderr
        assert "pianist:keys" in result.stdout.splitlines()
    finally:
        client.deactivate()
        client.close()
        server.stop()


@pytest.mark.parametrize(("arguments", "message"), [
    (("--audio", "offline", "--render", "x.wav", "--midi-in", "keys"),
         "--midi-in and --midi-control play live"),
    (("--no-voice", "--midi-in", "keys"), "--no-voice cannot be combined"),
    (("--voice", "missing-voice.pt"), "missing-voice.pt: no such voice model"),
    (("--voice-lead-ms", "0.5"), "argument --voice-lead-ms: 0.5 is outside 1..500"),
    (("--midi-api", "jack", "--midi-in", "keys", "--voice", str(DEFAULT_MODEL), "--audio",
      "jack"), "is a grains model, expected a voice model"),
])
def test_voice_usage_errors_are_one_line(arguments: tuple[str, ...], message: str) -> None:
    result = synth(*arguments)
    assert result.returncode == 2, result.stderr
    assert message in one_error_line(result)
