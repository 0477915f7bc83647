"""The voice worker's read clocks, against a real JACK server's frame counter.

The control loop's looks are played by the test: ring positions that pyo would have reached
at a chosen offset from JACK's frames, some of them stale (taken cycles before they are seen),
as the real looks are.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from synth.voice.read_clock import (
    EASE_SECONDS,
    EASE_STEP_MS,
    ESTIMATED_LEAD_MS,
    EstimatedReadClock,
    JackCycleClock,
    ReadClockUnavailable,
)
from synth.voice.ring import READ_INDEX, READ_TIME, VoiceRing, ring_size
from tests.jack_harness import JackServer, tools_missing

jack = pytest.importorskip("jack")

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")

RATE = 16000
JITTER = 128  # frames: JACK's own time estimate under a starved jackd (see below)
OFFSET = 1234.0  # JACK frames before pyo's ring position 0


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[JackServer]:
    server = JackServer(rate=48000, period=256)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ring() -> Iterator[VoiceRing]:
    ring = VoiceRing(ring_size(RATE))
    try:
        yield ring
    finally:
        ring.close()


def _ring_position(frame: float) -> float:
    return (frame - OFFSET) * RATE / 48000


def _look(ring: VoiceRing, client: jack.Client, cycles_stale: int) -> None:
    """Publish where pyo's read head was ``cycles_stale`` cycles ago (at the end of that
    cycle), as a control loop does that looks late."""
    frame = client.last_frame_time + client.blocksize * (1 - cycles_stale)
    ring.clock[READ_TIME] = time.monotonic()
    ring.clock[READ_INDEX] = _ring_position(frame)


def _within_one_cycle(client: jack.Client, action):
    """Run ``action`` inside one JACK cycle (retrying across a boundary); its result and
    the cycle's first frame."""
    while True:
        before = client.last_frame_time
        result = action()
        if client.last_frame_time == before:
            return result, before


def test_the_jack_clock_finds_the_read_head_from_stale_looks(server, ring) -> None:
    client = jack.Client("test-looks", no_start_server=True)
    clock = JackCycleClock(ring, RATE, 0.002, "test-clock")
    try:
        period = client.blocksize
        for stale in (3, 1, 2, 0, 4):  # one look in five is on time
            _look(ring, client, stale)
            clock.read_position()
            time.sleep(0.003)
        position, cycle = _within_one_cycle(client, clock.read_position)
        assert position == pytest.approx(_ring_position(cycle + period), abs=1e-6)
    finally:
        clock.close()
        client.close()


def test_input_lands_on_the_first_cycle_at_least_the_lead_away(server, ring) -> None:
    client = jack.Client("test-looks", no_start_server=True)
    lead_seconds = 0.002
    clock = JackCycleClock(ring, RATE, lead_seconds, "test-clock")
    try:
        period = client.blocksize
        _look(ring, client, 0)
        clock.read_position()
        seen = set()
        for _ in range(60):
            # The clock reads JACK's time between these two reads, so the lead is checked
            # against the earlier one and the cycle after it against the later one, however
            # long the machine takes between the calls. JACK's estimate of the time between
            # cycles can itself step when jackd is starved (by 2 ms once, with both cores
            # busy): JITTER allows for that.
            (before, position, after), cycle = _within_one_cycle(
                client, lambda: (client.frame_time, clock.input_position(), client.frame_time))
            start = position * 48000 / RATE + OFFSET
            cycles_on = (start - cycle) / period
            assert cycles_on == pytest.approx(round(cycles_on), abs=1e-6), "a cycle start"
            assert start - before >= lead_seconds * 48000 - JITTER
            assert start - after < lead_seconds * 48000 + period + JITTER
            seen.add(round(cycles_on))
            time.sleep(0.0007)
        assert seen == {1, 2}, "the next cycle when there is time, else the one after"
    finally:
        clock.close()
        client.close()


def test_before_the_first_look_the_jack_clock_estimates(server, ring) -> None:
    clock = JackCycleClock(ring, RATE, 0.002, "test-clock")
    estimate = EstimatedReadClock(ring, RATE, 32)
    try:
        ring.clock[READ_INDEX] = 5000.0
        assert clock.read_position() == estimate.read_position() == 5000.0
        assert clock.input_position() == 5032.0
    finally:
        clock.close()


def test_without_a_jack_server_the_clock_says_why(ring, monkeypatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "deepnote-no-such-server")
    with pytest.raises(ReadClockUnavailable):
        JackCycleClock(ring, RATE, 0.002, "test-clock")


def test_the_lead_grows_when_the_writer_is_late_and_eases_back(server, ring) -> None:
    now = [100.0]
    clock = JackCycleClock(ring, RATE, 0.002, "test-clock", seconds=lambda: now[0])
    try:
        ring.clock[READ_TIME], ring.clock[READ_INDEX] = time.monotonic(), 0.0
        for _ in range(3):
            clock.late()
        assert clock.lead_ms == pytest.approx(5.0)
        for _ in range(200):  # inputs alone do not ease it: time without lateness does
            clock.input_position()
        assert clock.lead_ms == pytest.approx(5.0)
        now[0] += 2.5 * EASE_SECONDS
        clock.input_position()
        assert clock.lead_ms == pytest.approx(5.0 - 2 * EASE_STEP_MS)
        now[0] += 0.6 * EASE_SECONDS  # 3.1 periods since the last late write: one more step
        clock.input_position()
        assert clock.lead_ms == pytest.approx(5.0 - 3 * EASE_STEP_MS)
        for _ in range(100):
            clock.late()
        assert clock.lead_ms == pytest.approx(ESTIMATED_LEAD_MS), "never beyond the estimate's"
        now[0] += 0.9 * EASE_SECONDS
        clock.input_position()
        assert clock.lead_ms == pytest.approx(ESTIMATED_LEAD_MS), "a late write restarts the wait"
        now[0] += 1000 * EASE_SECONDS
        clock.input_position()
        assert clock.lead_ms == pytest.approx(2.0), "never below the lead asked for"
    finally:
        clock.close()
