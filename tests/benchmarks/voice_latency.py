"""Voice latency benchmark: MIDI note-on to first audible sample, under JACK.

A JACK client plays notes into the synth's ``--midi-in`` over JACK MIDI and records the
synth's output in the same cycles, so latency is counted in frames of one clock: from the
frame the note-on is stamped with to the first output sample above the threshold. Single
notes and 4-note chords take turns; voice underruns are read from the synth (/state) after
each phase, and the recording is searched for what an underrun sounds like (runs of 0.5 ms
or more of exact silence inside a held note). The granulator is muted so only the voice is
heard.

``--busy-cores N`` runs N busy loops at normal priority beside the synth while it plays: a
laptop doing something else.

    python -m tests.benchmarks.voice_latency --voice models/voice.pt --trials 40 \\
        --out voice_latency.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from pythonosc.udp_client import SimpleUDPClient

from synth.shipped import DEFAULT_MODEL, DEFAULT_VOICE
from tests.jack_harness import JackServer, SynthProcess, ask_state, free_udp_port
from tests.jack_keyboard import KEYS_PORT, JackKeyboard

CHORDS = {1: [[45], [41], [48], [43]], 4: [[41, 43, 45, 48], [41, 45, 46, 48]]}  # trained notes
HOLD_SECONDS = 0.6
RELEASE_SECONDS = 0.9  # the counter cap (0.5 s) and some room


def measure(voice: Path, trials: int, threshold_db: float, lead_ms: float | None,
            rate: int, period: int, horizon_ms: float = 80.0, busy_cores: int = 0,
            normal_priority: bool = False) -> dict:
    server = JackServer(rate=rate, period=period)
    port = free_udp_port()
    lead = ("--voice-lead-ms", str(lead_ms)) if lead_ms is not None else ()
    synth = SynthProcess(server, DEFAULT_MODEL, port, "--voice", str(voice), "--midi-api",
                         "jack", "--midi-in", KEYS_PORT, *lead,
                         "--voice-horizon-ms", str(horizon_ms),
                         *(("--normal-priority",) if normal_priority else ()))
    total = trials * 2 * (HOLD_SECONDS + RELEASE_SECONDS) + 10
    keyboard = JackKeyboard(server.name, capture_seconds=total)
    busy: list[subprocess.Popen] = []
    try:
        synth.wait_for("playing", 120)
        synth.wait_for("connected", 30)
        keyboard.listen_to("deepnote:output_1")
        SimpleUDPClient("127.0.0.1", port).send_message("/volume", 0.0)
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(busy_cores)]
        time.sleep(1.0)
        result: dict = {"jack": f"{rate} Hz, {period} frames", "lead_ms": lead_ms,
                        "horizon_ms": horizon_ms, "busy_cores": busy_cores,
                        "normal_priority": normal_priority,
                        "threshold_dbfs": threshold_db, "voice": str(voice)}
        for voices in (1, 4):
            before = ask_state(port)["/state/voice/underruns"][0]
            latencies, silent, gaps = [], 0, 0
            for trial in range(trials):
                notes = CHORDS[voices][trial % len(CHORDS[voices])]
                # A random offset inside the cycle, so the stamp is not always at frame 0.
                on = keyboard.chord(notes, 100, delay_seconds=np.random.uniform(0, 0.01))
                keyboard.release(notes, delay_seconds=HOLD_SECONDS)
                time.sleep(HOLD_SECONDS + RELEASE_SECONDS)
                frames = keyboard.first_sound_after(on, threshold_db, int(0.5 * keyboard.rate))
                if frames is None:
                    silent += 1
                else:
                    latencies.append(1000 * frames / keyboard.rate)
                    held_from = on + frames + int(0.05 * keyboard.rate)
                    gaps += keyboard.gaps(held_from, on + int(HOLD_SECONDS * keyboard.rate),
                                          int(0.0005 * keyboard.rate))
            underruns = ask_state(port)["/state/voice/underruns"][0] - before
            result[f"{voices}_voices"] = {
                "notes": trials, "silent_notes": silent,
                "latency_ms_min": float(np.min(latencies)) if latencies else None,
                "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else None,
                "latency_ms_p99": float(np.percentile(latencies, 99)) if latencies else None,
                "latency_ms_max": float(np.max(latencies)) if latencies else None,
                "underruns": int(underruns), "silent_gaps_in_held_notes": gaps}
        result["xruns"] = server.xruns("deepnote")
        synth.interrupt()
        return result
    finally:
        for loop in busy:
            loop.kill()
            loop.wait()
        keyboard.close()
        synth.kill()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", type=Path, default=DEFAULT_VOICE)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--threshold-db", type=float, default=-60.0)
    parser.add_argument("--lead-ms", type=float,
                        help="the synth's --voice-lead-ms (default: the synth's default)")
    parser.add_argument("--horizon-ms", type=float, default=80.0,
                        help="how far ahead held notes are written (12 = never ahead)")
    parser.add_argument("--rate", type=int, default=48000)
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--busy-cores", type=int, default=0,
                        help="busy loops at normal priority beside the synth while it plays")
    parser.add_argument("--normal-priority", action="store_true",
                        help="the synth's --normal-priority (its Python threads not raised)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.voice.is_file():
        print(f"voice_latency: error: {args.voice}: no such voice model", file=sys.stderr)
        return 2
    result = measure(args.voice, args.trials, args.threshold_db, args.lead_ms, args.rate,
                     args.period, args.horizon_ms, args.busy_cores, args.normal_priority)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
