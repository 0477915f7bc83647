"""Soak: the synth under JACK for a long scripted performance, grains and voice together.

The performance moves /latent every half second, draws a trajectory every 5 s, changes the
granulator every 2 s and plays 4-note MIDI chords over JACK MIDI (held 1.5 s, every 3 s). It
is cut into stretches (90 s by default), each after an idle stretch in which the synth plays
on untouched: the xrun baseline is taken in the same minutes as the performance, so a burst
of the machine's (a virtual machine's stolen time comes and goes over minutes) falls on both
alike. Reports resident memory of the synth and its workers at the start and end of the
performance, xruns per minute idle and performing, voice underruns, and what JACK played
(peak, non-finite samples), monitored block by block for the whole run.

A control client (``jack_metro``, in C, doing next to nothing) runs beside the synth on the
same server. An xrun that leaves it unfinished too is the machine's (the server's own thread
woke late: a virtual machine's stolen time, say); one that it finished is the synth's. Both
are reported; the budget (performing no worse than idle) is on the synth's.

    python -m tests.benchmarks.soak --minutes 30 --idle-seconds 900 --out soak.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

from pythonosc.udp_client import SimpleUDPClient

from synth.shipped import DEFAULT_MODEL, DEFAULT_VOICE
from tests.benchmarks.memory import family, memory_kib
from tests.jack_harness import CEILING, JackServer, SynthProcess, ask_state, free_udp_port
from tests.jack_keyboard import KEYS_PORT, JackKeyboard

CHORDS = ([41, 45, 48, 43], [43, 46, 48, 41], [41, 43, 46, 48])  # trained notes
SETTLE_SECONDS = 2.5  # after a stretch: the last chord's release and the voice's countdown


def resident_kib(pid: int) -> int:
    """VmRSS of a process and all its descendants."""
    total = 0
    for member in family(pid):
        try:
            total += memory_kib(member)["rss"]
        except OSError:
            continue
    return total


def perform(osc: SimpleUDPClient, keyboard: JackKeyboard, seconds: float,
            rng: random.Random) -> int:
    """The scripted performance; returns the number of chords played."""
    start = time.monotonic()
    chords, tick = 0, 0
    while time.monotonic() - start < seconds:
        osc.send_message("/latent", [rng.random() for _ in range(16)])
        if tick % 4 == 0:
            osc.send_message("/grain/pitch", rng.uniform(0.5, 2.0))
            osc.send_message("/grain/density", rng.uniform(10, 120))
            osc.send_message("/grain/dur", rng.uniform(0.02, 0.2))
        if tick % 6 == 0:
            notes = CHORDS[chords % len(CHORDS)]
            keyboard.chord(notes, rng.randrange(60, 127))
            keyboard.release(notes, delay_seconds=1.5)
            chords += 1
        if tick % 10 == 0:
            points = [rng.random() for _ in range(2 * rng.randrange(2, 8))]
            osc.send_message("/trajectory/xy", points)
            osc.send_message("/scan/speed", rng.uniform(-1, 1))
        tick += 1
        time.sleep(0.5)
    return chords


def run(minutes: float, idle_seconds: float, model: Path, voice: Path, seed: int = 0,
        stretch_seconds: float = 90.0) -> dict:
    """``minutes`` of performance and ``idle_seconds`` in all, taken in turns: an idle
    stretch, then ``stretch_seconds`` of performance, and so on."""
    rng = random.Random(seed)
    stretches = max(1, math.ceil(minutes * 60 / stretch_seconds))
    by_stretch: list[dict[str, list[int]]] = []  # xruns: [the synth's, the machine's]
    idled = performed = 0.0
    chords = 0
    server = JackServer()
    server.start_control_client()
    port = free_udp_port()
    synth = SynthProcess(server, model, port, "--voice", str(voice), "--midi-api", "jack",
                         "--midi-in", KEYS_PORT)
    keyboard = JackKeyboard(server.name, capture_seconds=1.0)
    try:
        synth.wait_for("playing", 120)
        synth.wait_for("connected", 30)
        keyboard.listen_to("deepnote:output_1")
        osc = SimpleUDPClient("127.0.0.1", port)
        time.sleep(2.0)
        rss_start = resident_kib(synth.process.pid)
        for _ in range(stretches):
            stretch = {"idle": [0, 0], "performing": [0, 0]}
            before, started = server.app_xruns("deepnote"), time.monotonic()
            time.sleep(idle_seconds / stretches)
            idled += _tally(stretch["idle"], server.app_xruns("deepnote"), before, started)
            before, started = server.app_xruns("deepnote"), time.monotonic()
            chords += perform(osc, keyboard, minutes * 60 / stretches, rng)
            performed += _tally(stretch["performing"], server.app_xruns("deepnote"), before,
                                started)
            time.sleep(SETTLE_SECONDS)
            by_stretch.append(stretch)
        rss_end = resident_kib(synth.process.pid)
        underruns = ask_state(port)["/state/voice/underruns"][0]
        alive = synth.process.poll() is None
        code = synth.interrupt()
    finally:
        keyboard.close()
        synth.kill()
        server.stop()
    idle, busy = ([sum(stretch[kind][who] for stretch in by_stretch) for who in (0, 1)]
                  for kind in ("idle", "performing"))
    return {
        "jack": "dummy, 48000 Hz, 256 frames",
        "idle_seconds": round(idled, 1), "performance_seconds": round(performed, 1),
        "stretches": stretches, "chords": chords,
        "rss_kib_start": rss_start, "rss_kib_end": rss_end,
        "rss_growth_percent": round(100 * (rss_end - rss_start) / rss_start, 2),
        "idle_xruns_synth": idle[0], "idle_xruns_machine": idle[1],
        "idle_xruns_synth_per_minute": _per_minute(idle[0], idled),
        "idle_xruns_machine_per_minute": _per_minute(idle[1], idled),
        "performance_xruns_synth": busy[0], "performance_xruns_machine": busy[1],
        "performance_xruns_synth_per_minute": _per_minute(busy[0], performed),
        "performance_xruns_machine_per_minute": _per_minute(busy[1], performed),
        "xruns_by_stretch": by_stretch,  # [synth's, machine's], idle then performing
        "voice_underruns": int(underruns),
        "output_nonfinite_samples": keyboard.nonfinite,
        "output_peak_dbfs": round(20 * math.log10(keyboard.peak + 1e-12), 2),
        "peak_within_ceiling": keyboard.peak <= CEILING,
        "alive_at_end": alive, "exit_code": code,
    }


def _tally(into: list[int], now: tuple[int, int], before: tuple[int, int],
           started: float) -> float:
    """Adds the xruns since ``before`` to ``into``; returns the seconds since ``started``."""
    into[0] += now[0] - before[0]
    into[1] += now[1] - before[1]
    return time.monotonic() - started


def _per_minute(count: int, seconds: float) -> float | None:
    return round(60 * count / seconds, 2) if seconds > 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="minutes of performance in all")
    parser.add_argument("--idle-seconds", type=float, default=900.0,
                        help="idle seconds in all, one stretch before each performing one")
    parser.add_argument("--stretch-seconds", type=float, default=90.0,
                        help="seconds of performance between two idle stretches")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--voice", type=Path, default=DEFAULT_VOICE)
    parser.add_argument("--out", type=Path, default=Path("soak.json"))
    args = parser.parse_args(argv)
    if not args.voice.is_file():
        print(f"soak: error: {args.voice}: no such voice model", file=sys.stderr)
        return 2
    result = run(args.minutes, args.idle_seconds, args.model, args.voice,
                 stretch_seconds=args.stretch_seconds)
    text = json.dumps(result, indent=1)
    print(text)
    args.out.write_text(text + "\n")
    return 0 if result["alive_at_end"] and result["peak_within_ceiling"] else 1


if __name__ == "__main__":
    sys.exit(main())
