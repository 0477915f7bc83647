"""The CI-sized soak: 20 s of scripted performance with MIDI chords (the 30-minute run is in
the README)."""

import pytest

from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import tools_missing

pytest.importorskip("jack")


@pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")
def test_short_soak_plays_grains_and_chords_within_the_ceiling(tiny_voice_model):
    from tests.benchmarks.soak import run

    result = run(minutes=20 / 60, idle_seconds=5.0, model=DEFAULT_MODEL,
                 voice=tiny_voice_model, stretch_seconds=10.0)
    assert result["stretches"] == len(result["xruns_by_stretch"]) == 2, "idle, play, idle, play"
    assert 4.5 < result["idle_seconds"] < 6.0 and 19.0 < result["performance_seconds"] < 22.0
    assert result["chords"] >= 3
    assert result["alive_at_end"] and result["exit_code"] == 0
    assert result["output_nonfinite_samples"] == 0
    assert result["peak_within_ceiling"], result["output_peak_dbfs"]
    assert result["output_peak_dbfs"] > -60, "the performance was heard"
    assert result["rss_kib_start"] > 0 and result["rss_kib_end"] > 0


def test_xruns_the_control_client_shares_are_the_machines():
    from tests.jack_harness import xrun_events

    def line(client: str) -> str:
        return f"JackEngine::XRun: client = {client} was not finished, state = Triggered"

    log = [line("control"), line("deepnote"), line("deepnote-keys"),  # the machine stalled
           "JackAudioDriver::ProcessGraphAsyncMaster: Process error",
           line("deepnote"), line("deepnote-keys"),  # the synth was late
           line("deepnote"),  # and again, right after
           line("control"), line("deepnote")]  # the machine, right after the synth
    assert xrun_events(log) == [{"control", "deepnote", "deepnote-keys"},
                                {"deepnote", "deepnote-keys"}, {"deepnote"},
                                {"control", "deepnote"}]
