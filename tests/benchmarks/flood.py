"""Flood benchmark: the synth under JACK (dummy driver) receiving N OSC messages per second.

Measures, in one run: app-caused xruns of the synth's JACK client while idle and while
flooded (same duration), what JACK played during the flood (NaN/inf, peak level), and
whether the synth obeys the last valid state afterwards (asked with /state).

    python -m tests.benchmarks.flood --seconds 30 --rate 10000 --out flood.json
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import (
    CEILING,
    JackServer,
    SynthProcess,
    ask_state,
    free_udp_port,
    record,
)


def message(address: str, *values: object) -> bytes:
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value)
    return builder.build().dgram


def flood_datagrams(rng: random.Random, count: int) -> list[bytes]:
    """Half valid controls, half invalid (wrong types, NaN, out of range, garbage)."""
    datagrams = []
    for index in range(count):
        kind = index % 8
        if kind == 0:
            datagrams.append(message("/xy", rng.random(), rng.random()))
        elif kind == 1:
            datagrams.append(message("/grain/pos", rng.random()))
        elif kind == 2:
            datagrams.append(message("/latent/dim", rng.randrange(16), rng.random()))
        elif kind == 3:
            datagrams.append(message("/grain/density", 1 + 100 * rng.random()))
        elif kind == 4:
            datagrams.append(message("/xy", float("nan"), 0.5))
        elif kind == 5:
            datagrams.append(message("/volume", "loud"))
        elif kind == 6:
            datagrams.append(message("/grain/pitch", 1000.0))
        else:
            datagrams.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(4, 64))))
    return datagrams


def send_flood(port: int, rate: int, seconds: float, seed: int) -> dict:
    rng = random.Random(seed)
    pool = flood_datagrams(rng, 4096)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    sent = 0
    started = time.monotonic()
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    while time.monotonic() - started < seconds:
        for _ in range(per_tick):
            sender.sendto(pool[sent % len(pool)], target)
            sent += 1
        delay = started + (sent / rate) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - started
    sender.close()
    return {"messages_sent": sent, "send_seconds": round(elapsed, 2),
            "achieved_rate": round(sent / elapsed)}


def run(seconds: float, rate: int, model: Path, workdir: Path, seed: int = 0) -> dict:
    jack = JackServer()
    port = free_udp_port()
    synth = SynthProcess(jack, model, port)
    try:
        synth.wait_for("playing")
        time.sleep(1.0)
        idle_start = jack.xruns("deepnote")
        time.sleep(seconds)
        idle_xruns = jack.xruns("deepnote") - idle_start

        flood_start = jack.xruns("deepnote")
        recording: dict = {}
        recorder = threading.Thread(target=lambda: recording.update(
            audio=record(jack, seconds, workdir / "flood.wav")))
        recorder.start()
        sending = send_flood(port, rate, seconds, seed)
        recorder.join()
        flood_xruns = jack.xruns("deepnote") - flood_start
        alive = synth.process.poll() is None

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(message("/xy", 0.125, 0.875), ("127.0.0.1", port))
            sender.sendto(message("/volume", 0.625), ("127.0.0.1", port))
        time.sleep(0.5)
        state = ask_state(port)
    finally:
        code = synth.interrupt() if synth.process.poll() is None else synth.process.returncode
        jack.stop()
    audio = recording.get("audio", np.zeros((1, 2), np.float32))
    obeys = (state.get("/state/xy") == [0.125, 0.875]
             and state.get("/state/volume") == [0.625])
    return {
        "seconds_each": seconds,
        "rate_asked": rate,
        **sending,
        "idle_xruns": idle_xruns,
        "flood_xruns": flood_xruns,
        "synth_alive_after_flood": alive,
        "obeys_last_valid_state": obeys,
        "recording_finite": bool(np.isfinite(audio).all()),
        "recording_peak_dbfs": round(float(20 * np.log10(np.abs(audio).max() + 1e-12)), 2),
        "peak_within_ceiling": bool(np.abs(audio).max() <= CEILING),
        "dropped_warning_lines": sum("dropped" in line for line in synth.lines),
        "exit_code": code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=Path("flood.json"))
    args = parser.parse_args(argv)
    result = run(args.seconds, args.rate, args.model, args.out.parent.resolve())
    text = json.dumps(result, indent=1)
    print(text)
    args.out.write_text(text + "\n")
    return 0 if result["synth_alive_after_flood"] and result["obeys_last_valid_state"] else 1


if __name__ == "__main__":
    sys.exit(main())
