"""``deepnote-compose``: write a new MIDI phrase with the LSTM composer.

    deepnote-compose --out phrase.mid --bars 8 --temperature 0.9 --seed-midi start.mid
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synth import __version__
from synth.arguments import OneLineParser, number, whole
from synth.composer.piano_roll import RollError, keep_top_lines, notes_from_roll, roll_from_midi
from synth.composer.player import DEFAULT_TEMPERATURE
from synth.contract.model_file import ModelFileError
from synth.shipped import DEFAULT_COMPOSER


class UsageError(Exception):
    """A command-line value that cannot work."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="deepnote-compose", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--model", type=Path, default=DEFAULT_COMPOSER,
                        help=f"an exported composer (default {DEFAULT_COMPOSER})")
    parser.add_argument("--out", type=Path, required=True, help="MIDI file to write")
    parser.add_argument("--bars", type=number(0.0, 1024.0, low_open=True), default=4.0,
                        help="length of the new phrase")
    parser.add_argument("--temperature", type=number(0.0, 10.0, low_open=True),
                        default=DEFAULT_TEMPERATURE,
                        help="sampling temperature: lower is sparser and safer, higher "
                             f"denser and wilder (default {DEFAULT_TEMPERATURE:g})")
    parser.add_argument("--seed-midi", type=Path,
                        help="a MIDI file whose opening the phrase continues")
    parser.add_argument("--seed-bars", type=number(0.0, 1024.0, low_open=True), default=1.0,
                        help="how much of --seed-midi to read (bars)")
    parser.add_argument("--tempo", type=number(1.0, 1000.0), default=90.0,
                        help="beats per minute")
    parser.add_argument("--lines", type=whole(1, 128),
                        help="keep only this many highest notes at a time (1: a melody)")
    parser.add_argument("--transpose", type=whole(-48, 48), default=0,
                        help="semitones, applied on output")
    parser.add_argument("--include-seed", action="store_true",
                        help="write the seed phrase before the new one")
    parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0, help="random seed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = compose_to_file(args)
    except (UsageError, ModelFileError, RollError) as error:
        print(f"deepnote-compose: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"deepnote-compose: error: {error.strerror or error} ({error.filename}); "
              "nothing was written",
              file=sys.stderr)
        return 1
    print(summary)
    return 0


def compose_to_file(args: argparse.Namespace) -> str:
    from synth.composer.model import load_composer
    from synth.composer.piano_roll import RollRange, write_roll_midi

    composer = load_composer(args.model)
    roll_range = composer.roll_range
    seed_roll = np.zeros((0, roll_range.pitches), np.int8)
    if args.seed_midi is not None:
        seed_roll = roll_from_midi(args.seed_midi, roll_range)
        seed_roll = seed_roll[:round(args.seed_bars * composer.steps_per_bar)]
    steps = max(1, round(args.bars * composer.steps_per_bar))
    roll = composer.compose(seed_roll, steps, args.temperature, args.seed)
    if args.include_seed:
        roll = np.concatenate([seed_roll, roll])
    if args.lines is not None:
        roll = keep_top_lines(roll, args.lines)
    shifted = RollRange(roll_range.lowest + args.transpose, roll_range.pitches,
                        roll_range.steps_per_quarter)
    if shifted.lowest < 0 or shifted.lowest + shifted.pitches > 128:
        raise UsageError("--transpose moves notes outside MIDI 0..127")
    write_roll_midi(roll, args.out, shifted, args.tempo)
    notes = notes_from_roll(roll, shifted.lowest)
    span = (f", pitches {min(n[0] for n in notes)}..{max(n[0] for n in notes)}"
            if notes else " (all rests: try a higher --temperature)")
    seconds = len(roll) / roll_range.steps_per_quarter * 60.0 / args.tempo
    return f"wrote {args.out}: {len(notes)} notes{span}, {seconds:.1f} s at {args.tempo:g} bpm"


if __name__ == "__main__":
    sys.exit(main())
