"""The timbre sliders live: /timbre/bright sent over OSC to deepnote-synth under JACK moves
what the synth really plays (its JACK output, recorded by a JACK client)."""

import time

import numpy as np
import pytest
from pythonosc.udp_client import SimpleUDPClient

from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import (
    JackServer,
    SynthProcess,
    free_udp_port,
    record,
    spectral_centroid_hz,
    tools_missing,
)

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")


def test_the_bright_slider_brightens_the_live_synth(tmp_path):
    jack = JackServer()
    port = free_udp_port()
    synth = SynthProcess(jack, DEFAULT_MODEL, port, "--no-voice")
    try:
        synth.wait_for("playing", 120)
        osc = SimpleUDPClient("127.0.0.1", port)
        osc.send_message("/xy", [0.5, 0.5])
        osc.send_message("/timbre/bright", -1.0)
        time.sleep(0.8)  # the new table and its cross-fade
        dark = record(jack, 1.5, tmp_path / "dark.wav")
        osc.send_message("/timbre/bright", 1.0)
        time.sleep(0.8)
        bright = record(jack, 1.5, tmp_path / "bright.wav")
        assert synth.interrupt() == 0
    finally:
        synth.kill()
        jack.stop()
    assert np.sqrt(np.mean(dark ** 2)) > 1e-3, "it plays"
    low, high = spectral_centroid_hz(dark, 48000), spectral_centroid_hz(bright, 48000)
    assert high > 1.3 * low, (low, high)
