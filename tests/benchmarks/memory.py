"""What the playing synth costs in memory: each process (the audio process, the decoding
worker, the OSC listener, the voice worker) by resident (RSS) and proportional (PSS) size.
PSS splits each shared page between the processes that map it, so the PSS total is what the
synth really takes from the machine; the RSS total counts shared libraries once per process.

    python -m tests.benchmarks.memory [--voice VOICE.pt] [--no-composer] [--out memory.json]

Runs under a private JACK dummy server (48 kHz / 256) with the shipped models by default.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from synth.shipped import DEFAULT_MODEL, DEFAULT_VOICE
from tests.jack_harness import JackServer, SynthProcess, free_udp_port

SETTLE_SECONDS = 3.0


def family(pid: int) -> list[int]:
    """A process and all its descendants."""
    members, changed = {pid}, True
    while changed:
        changed = False
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                              if ":" in line)
            except OSError:
                continue
            child, parent = int(fields["Pid"]), int(fields["PPid"])
            if parent in members and child not in members:
                members.add(child)
                changed = True
    return sorted(members)


def memory_kib(pid: int) -> dict[str, int]:
    """Rss and Pss of one process, from /proc/PID/smaps_rollup."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss"):
            figures[key.lower()] = int(value.split()[0])
    return figures


def process_name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def measure(voice: Path | None, composer: bool) -> dict:
    jack = JackServer()
    extra = ["--voice", str(voice)] if voice else []
    if voice and not composer:
        extra.append("--no-composer")
    synth = SynthProcess(jack, DEFAULT_MODEL, free_udp_port(), *extra)
    try:
        synth.wait_for("playing", timeout=180)
        time.sleep(SETTLE_SECONDS)
        processes = []
        for pid in family(synth.process.pid):
            try:
                processes.append({"pid": pid, "name": process_name(pid), **memory_kib(pid)})
            except OSError:
                continue
    finally:
        synth.interrupt()
        jack.stop()
    return {"voice": str(voice) if voice else None, "composer": composer,
            "processes": processes,
            "total_rss_kib": sum(p["rss"] for p in processes),
            "total_pss_kib": sum(p["pss"] for p in processes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", type=Path, default=DEFAULT_VOICE)
    parser.add_argument("--no-voice", action="store_true")
    parser.add_argument("--no-composer", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("memory.json"))
    args = parser.parse_args()
    report = measure(None if args.no_voice else args.voice, not args.no_composer)
    for row in report["processes"]:
        print(f"{row['pid']:>8} {row['name']:<18} RSS {row['rss'] / 1024:7.1f} MiB   "
              f"PSS {row['pss'] / 1024:7.1f} MiB")
    print(f"{'total':>27} RSS {report['total_rss_kib'] / 1024:7.1f} MiB   "
          f"PSS {report['total_pss_kib'] / 1024:7.1f} MiB")
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
