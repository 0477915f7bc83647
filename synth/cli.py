"""``deepnote-synth``: play a grains model live (sound card or JACK) or render a score."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from synth.addresses import LATENT_DIM, address_table_text
from synth.model_file import KIND_GRAINS, ModelFileError, read_metadata, validate_metadata
from synth.network_policy import PolicyError, check_listening_address, parse_allowed
from synth.presets import PresetError, PresetStore, default_preset_directory
from synth.score import ScoreError, read_score

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "grains.pt"

log = logging.getLogger("deepnote")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepnote-synth",
        description="Real-time neural granular synthesizer: grains decoded by a VAE, "
                    "played by pyo, steered over OSC.")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="exported grains model (default: the shipped models/grains.pt)")
    parser.add_argument("--audio", choices=("portaudio", "jack", "offline"),
                        default="portaudio", help="audio backend (default portaudio)")
    parser.add_argument("--sr", type=int, default=48000, help="server sample rate")
    parser.add_argument("--buffer", type=int, default=256, help="frames per audio buffer")
    parser.add_argument("--output-device", type=int, help="portaudio output device index")
    parser.add_argument("--list-devices", action="store_true",
                        help="list portaudio devices and exit")
    parser.add_argument("--jack-name", default="deepnote", help="JACK client name")
    parser.add_argument("--osc-host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0 exposes it to the network)")
    parser.add_argument("--osc-port", type=int, default=9000, help="UDP port (default 9000)")
    parser.add_argument("--allow", action="append", default=[], metavar="ADDRESS[/PREFIX]",
                        help="a sender (or network) allowed to send OSC when --osc-host is not "
                             "loopback; repeatable")
    parser.add_argument("--osc-help", action="store_true",
                        help="print the OSC address table and exit")
    parser.add_argument("--render", type=Path, help="offline: WAV file to write")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="offline: seconds to render (default 10)")
    parser.add_argument("--score", type=Path, help="offline: timed OSC score to play")
    parser.add_argument("--midi-file", type=Path,
                        help="offline: play a MIDI file through the voice (needs --voice)")
    parser.add_argument("--voice", type=Path, help="an exported voice model (.pt)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--preset", help="start from a stored preset (see /preset/save)")
    parser.add_argument("--preset-dir", type=Path,
                        help="where presets live (default $XDG_DATA_HOME/deepnote/presets, "
                             "else ~/.local/share/deepnote/presets)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log more")
    verbosity.add_argument("--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="deepnote-synth: %(message)s")
    if args.osc_help:
        print(address_table_text())
        return 0
    if args.list_devices:
        from synth.engine import pyo

        pyo.pa_list_devices()
        return 0
    try:
        _check_arguments(args)
        metadata = read_metadata(args.model)
        validate_metadata(metadata, source=str(args.model), expected_kind=KIND_GRAINS)
        if metadata["latent_dim"] != LATENT_DIM:
            raise ModelFileError(f"{args.model}: latent dimension {metadata['latent_dim']}, "
                                 f"but the OSC table speaks {LATENT_DIM}")
        if args.audio == "offline":
            return _render(args, metadata)
        return _play(args, metadata)
    except (ModelFileError, ScoreError, UsageError, PolicyError) as error:
        print(f"deepnote-synth: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"deepnote-synth: error: {error}", file=sys.stderr)
        return 1


class UsageError(ValueError):
    pass


def _check_arguments(args: argparse.Namespace) -> None:
    if args.audio == "offline" and args.render is None:
        raise UsageError("--audio offline needs --render OUT.wav")
    if args.audio != "offline" and (args.render or args.score or args.midi_file):
        raise UsageError("--render, --score and --midi-file need --audio offline")
    if args.midi_file and args.voice is None:
        raise UsageError("--midi-file plays through a voice: add --voice VOICE.pt")
    if args.midi_file and args.score:
        raise UsageError("--midi-file and --score render different instruments; pick one")
    if args.preset:
        store = PresetStore(args.preset_dir or default_preset_directory())
        try:
            store.load(args.preset)
        except PresetError as error:
            raise UsageError(str(error)) from error
    if args.duration <= 0:
        raise UsageError("--duration must be positive")
    if args.sr < 8000 or args.buffer < 16:
        raise UsageError("--sr must be at least 8000 and --buffer at least 16")
    if args.audio != "offline":
        check_listening_address(args.osc_host, parse_allowed(args.allow))
    if not 0 <= args.osc_port < 65536:
        raise UsageError("--osc-port must be 0..65535 (0: any free port)")


def _render(args: argparse.Namespace, metadata: dict) -> int:
    from synth.offline import RenderSettings, render_offline

    if args.midi_file:
        from synth.voice_render import render_midi

        if not args.midi_file.is_file():
            raise UsageError(f"{args.midi_file}: no such MIDI file")
        summary = render_midi(args.voice, args.midi_file, args.render, args.seed)
        log.info("wrote %s (%.1f s, %d notes through the voice)", args.render,
                 summary["seconds"], summary["notes"])
        return 0
    events = read_score(args.score) if args.score else []
    if args.render.parent and not args.render.parent.is_dir():
        raise UsageError(f"{args.render.parent}: no such folder for --render")
    settings = RenderSettings(model_path=args.model, out=args.render, duration=args.duration,
                              server_rate=args.sr, buffer_size=args.buffer, seed=args.seed,
                              preset_directory=args.preset_dir, preset=args.preset)
    tables = render_offline(settings, metadata, events)
    log.info("wrote %s (%.1f s, %d grain tables)", args.render, args.duration, tables)
    return 0


def _play(args: argparse.Namespace, metadata: dict) -> int:
    from synth.live import AudioUnavailable, LiveSettings, run_live

    settings = LiveSettings(
        model_path=args.model, audio=args.audio, server_rate=args.sr, buffer_size=args.buffer,
        output_device=args.output_device, jack_name=args.jack_name, osc_host=args.osc_host,
        osc_port=args.osc_port, allowed_senders=parse_allowed(args.allow), seed=args.seed,
        verbose=args.verbose, preset_directory=args.preset_dir, preset=args.preset)
    try:
        return run_live(settings, metadata)
    except AudioUnavailable as error:
        print(f"deepnote-synth: error: {error}", file=sys.stderr)
        return 2
