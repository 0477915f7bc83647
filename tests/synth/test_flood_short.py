"""The CI-sized flood: 3 s at 10,000 messages per second (the 30 s run is in the README)."""

import pytest

from synth.shipped import DEFAULT_MODEL
from tests.benchmarks.flood import run
from tests.jack_harness import tools_missing


@pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")
def test_short_flood_keeps_playing_and_obeys_the_last_valid_state(tmp_path):
    result = run(seconds=3.0, rate=10_000, model=DEFAULT_MODEL, workdir=tmp_path)
    assert result["messages_sent"] >= 25_000
    assert result["synth_alive_after_flood"]
    assert result["obeys_last_valid_state"]
    assert result["recording_finite"] and result["peak_within_ceiling"]
    assert result["dropped_warning_lines"] < 40, "warnings must stay rate-limited"
    assert result["exit_code"] == 0
