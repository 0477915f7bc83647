"""``deepnote-synth``: play a grains model and the note voice live (sound card or JACK),
or render a score or a MIDI file offline."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from synth import __version__
from synth.arguments import OneLineParser, number, whole
from synth.contract.model_file import (
    GrainModelInfo,
    ModelFileError,
    read_composer_model,
    read_grain_model,
    read_voice_model,
)
from synth.control.addresses import LATENT_DIM, address_table_text
from synth.control.midi_map import MidiMapError, read_midi_map
from synth.control.network_policy import PolicyError, check_listening_address, parse_allowed
from synth.control.presets import PresetError, PresetStore, default_preset_directory
from synth.control.score import ScoreError, read_score
from synth.files import OutputError, audio_format, replaceable_target
from synth.interrupts import StopFlag, interrupts_deferred
from synth.shipped import DEFAULT_COMPOSER, DEFAULT_MODEL, DEFAULT_VOICE
from synth.voice.notes import BendSettings
from synth.voice.read_clock import ESTIMATED_LEAD_MS, JACK_LEAD_MS

MIDI_API_CHOICES = ("alsa", "jack", "coremidi", "windows")

log = logging.getLogger("deepnote")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="deepnote-synth",
        description="Real-time neural granular synthesizer: grains decoded by a VAE, "
                    "played by pyo, steered over OSC.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="exported grains model (default: the shipped models/grains.pt)")
    parser.add_argument("--models-dir", type=Path,
                        help="folder of exported models that /model/grains NAME switches "
                             "between (default: the folder of --model)")
    parser.add_argument("--audio", choices=("portaudio", "jack", "offline"),
                        default="portaudio", help="audio backend (default portaudio)")
    parser.add_argument("--sr", type=whole(8000, 192000), default=48000,
                        help="server sample rate")
    parser.add_argument("--buffer", type=whole(16, 8192), default=256,
                        help="frames per audio buffer")
    parser.add_argument("--output-device", type=whole(0), help="portaudio output device index")
    parser.add_argument("--list-devices", action="store_true",
                        help="list portaudio devices and exit")
    parser.add_argument("--jack-name", default="deepnote", help="JACK client name")
    parser.add_argument("--osc-host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0 exposes it to the network)")
    parser.add_argument("--osc-port", type=whole(0, 65535), default=9000,
                        help="UDP port (default 9000; 0: any free port)")
    parser.add_argument("--oscquery-port", type=whole(0, 65535),
                        help="HTTP port of the OSCQuery server that describes every OSC "
                             "address to hosts (default: the OSC port + 1; 0: any free port)")
    parser.add_argument("--no-oscquery", action="store_true", help="serve no OSCQuery")
    parser.add_argument("--allow", action="append", default=[], metavar="ADDRESS[/PREFIX]",
                        help="a sender (or network) allowed to send OSC when --osc-host is not "
                             "loopback; repeatable")
    parser.add_argument("--osc-help", action="store_true",
                        help="print the OSC address table and exit")
    parser.add_argument("--render", type=Path,
                        help="offline: audio file to write (.wav, .aif(f) or .flac)")
    parser.add_argument("--duration", type=number(0.0, 24 * 3600.0, low_open=True), default=10.0,
                        help="offline: seconds to render (default 10)")
    parser.add_argument("--score", type=Path, help="offline: timed OSC score to play")
    parser.add_argument("--midi-file", type=Path,
                        help="offline: play a MIDI file through the voice (needs --voice)")
    parser.add_argument("--voice", type=Path,
                        help="exported voice model for notes (default: the shipped "
                             "models/voice.pt when present)")
    parser.add_argument("--no-voice", action="store_true",
                        help="play grains only (no note voice, no MIDI)")
    parser.add_argument("--composer", type=Path,
                        help="exported composer that improvises on the voice on /compose/play "
                             "(default: the shipped models/composer.pt when present)")
    parser.add_argument("--no-composer", action="store_true", help="load no composer")
    parser.add_argument("--midi-in", metavar="PORT",
                        help="MIDI input to play the voice from (a name or part of one; "
                             "see --list-midi); reconnects if it goes away")
    parser.add_argument("--midi-api", choices=MIDI_API_CHOICES,
                        help="MIDI system (default: rtmidi's own choice; jack for JACK MIDI)")
    parser.add_argument("--midi-control", metavar="PORT",
                        help="MIDI input whose controllers (CCs) move the controls bound by "
                             "/midi/learn or --midi-map (may be the --midi-in keyboard; "
                             "default: none, one JACK client fewer)")
    parser.add_argument("--midi-map", type=Path, metavar="FILE",
                        help="MIDI map to start with (JSON: which CC moves which address); "
                             "a preset holding a map replaces it")
    parser.add_argument("--list-midi", action="store_true",
                        help="list MIDI inputs and exit")
    parser.add_argument("--voice-lead-ms", type=number(1.0, 500.0),
                        help="how far ahead of the read head a key press is applied (default "
                             f"{ESTIMATED_LEAD_MS:g} ms; under JACK the first audio cycle at "
                             f"least {JACK_LEAD_MS:g} ms away)")
    parser.add_argument("--voice-horizon-ms", type=number(0.0, 5000.0), default=80.0,
                        help="how far ahead of playback held notes are generated (default "
                             "80 ms; raise it if the log reports underruns)")
    parser.add_argument("--bend-range", type=number(0.0, 96.0), default=2.0,
                        help="semitones the pitch wheel bends the voice at full throw "
                             "(default 2)")
    parser.add_argument("--mpe", action="store_true",
                        help="MIDI Polyphonic Expression, lower zone: channel 1 bends every "
                             "note by --bend-range, channels 2-16 each bend their own note by "
                             "48 semitones; channel pressure raises the note's velocity")
    parser.add_argument("--normal-priority", action="store_true",
                        help="leave the audio process's Python threads at normal priority "
                        "instead of SCHED_FIFO 1, below JACK's (where the system permits it)")
    parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0, help="random seed")
    parser.add_argument("--preset", help="start from a stored preset (see /preset/save)")
    parser.add_argument("--preset-dir", type=Path,
                        help="where presets live (default $XDG_DATA_HOME/deepnote/presets, "
                             "else ~/.local/share/deepnote/presets)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log more")
    verbosity.add_argument("--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Sequence[str] | None = None, stop: StopFlag | None = None) -> int:
    """``stop``: a flag the caller installed before anything loaded (``deepnote-synth``
    does); the live synth keeps it, every other path hands Ctrl-C back to Python."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="deepnote-synth: %(message)s")
    live = args.audio != "offline" and not (args.osc_help or args.list_devices or args.list_midi)
    if stop is not None and not live:
        stop.uninstall()  # Ctrl-C raises KeyboardInterrupt again, SIGTERM ends the process
        if stop.raised:
            print("deepnote-synth: interrupted; nothing was written", file=sys.stderr)
            return 130
    if args.osc_help:
        print(address_table_text())
        return 0
    if args.list_devices:
        with interrupts_deferred():  # pyo's import loses a Ctrl-C otherwise
            from synth.grains.engine import pyo

        pyo.pa_list_devices()
        return 0
    if args.list_midi:
        return _list_midi(args.midi_api)
    try:
        _check_arguments(args)
        model = read_grain_model(args.model)
        if model.latent_dim != LATENT_DIM:
            raise ModelFileError(f"{args.model}: latent dimension {model.latent_dim}, "
                                 f"but the OSC table speaks {LATENT_DIM}")
        if args.audio == "offline":
            return _render(args, model)
        return _play(args, model, stop or StopFlag())
    except (ModelFileError, ScoreError, UsageError, PolicyError, MidiMapError) as error:
        print(f"deepnote-synth: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the live synth takes over SIGINT, or offline
        print("deepnote-synth: interrupted; nothing was written", file=sys.stderr)
        return 130
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
    if args.render is not None:
        try:
            replaceable_target(args.render)
            audio_format(args.render)
        except OutputError as error:
            raise UsageError(str(error)) from None
    if (args.midi_in or args.midi_control) and args.audio == "offline":
        raise UsageError("--midi-in and --midi-control play live; offline, use --midi-file, "
                         "or /midi/cc lines in a --score")
    args.midi_map = tuple(read_midi_map(args.midi_map)) if args.midi_map else ()
    if args.models_dir is not None and not args.models_dir.is_dir():
        raise UsageError(f"{args.models_dir}: no such folder for --models-dir")
    if args.no_voice and (args.voice or args.midi_in or args.midi_file):
        raise UsageError("--no-voice cannot be combined with --voice, --midi-in or "
                         "--midi-file")
    if args.voice is None and not args.no_voice and DEFAULT_VOICE.is_file():
        args.voice = DEFAULT_VOICE
    if (args.midi_file or args.midi_in) and args.voice is None:
        raise UsageError("--midi-file and --midi-in play through a voice: add "
                         "--voice VOICE.pt")
    if args.voice is not None and not args.voice.is_file():
        raise UsageError(f"{args.voice}: no such voice model")
    _choose_composer(args)
    lead_ms = args.voice_lead_ms or ESTIMATED_LEAD_MS
    if not lead_ms <= args.voice_horizon_ms <= 1000.0:
        raise UsageError(f"--voice-horizon-ms must be {lead_ms:g}..1000 (at least the "
                         "voice's lead)")
    if args.midi_file and args.score:
        raise UsageError("--midi-file and --score render different instruments; pick one")
    if args.preset:
        store = PresetStore(args.preset_dir or default_preset_directory())
        try:
            store.load(args.preset)
        except PresetError as error:
            raise UsageError(str(error)) from error
    if args.audio != "offline":
        args.osc_host = check_listening_address(args.osc_host, parse_allowed(args.allow))


def _choose_composer(args: argparse.Namespace) -> None:
    if args.no_composer and args.composer:
        raise UsageError("--no-composer cannot be combined with --composer")
    if args.composer is not None and (args.voice is None or args.audio == "offline"):
        raise UsageError("--composer plays live on the voice: it needs a voice and live "
                         "audio (offline, render a deepnote-compose MIDI file with "
                         "--midi-file)")
    if (args.composer is None and not args.no_composer and args.voice is not None
            and args.audio != "offline" and DEFAULT_COMPOSER.is_file()):
        args.composer = DEFAULT_COMPOSER
    if args.composer is not None:
        read_composer_model(args.composer)


def _list_midi(api: str | None) -> int:
    from synth.midi_input import MidiError, list_midi_inputs

    try:
        names = list_midi_inputs(api)
    except MidiError as error:
        print(f"deepnote-synth: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(names) if names else "(no MIDI inputs)")
    return 0


def _render(args: argparse.Namespace, model: GrainModelInfo) -> int:
    with interrupts_deferred():  # pyo's import loses a Ctrl-C otherwise
        from synth.offline import RenderSettings, render_offline

    if args.midi_file:
        from synth.voice.midi_render import render_midi

        if not args.midi_file.is_file():
            raise UsageError(f"{args.midi_file}: no such MIDI file")
        summary = render_midi(args.voice, args.midi_file, args.render, args.seed,
                              _bend_settings(args))
        log.info("wrote %s (%.1f s, %d notes through the voice)", args.render,
                 summary["seconds"], summary["notes"])
        return 0
    events = read_score(args.score) if args.score else []
    if args.render.parent and not args.render.parent.is_dir():
        raise UsageError(f"{args.render.parent}: no such folder for --render")
    settings = RenderSettings(model_path=args.model, out=args.render, duration=args.duration,
                              server_rate=args.sr, buffer_size=args.buffer, seed=args.seed,
                              preset_directory=args.preset_dir, preset=args.preset,
                              midi_map=args.midi_map, models_directory=_models_directory(args))
    tables = render_offline(settings, model, events)
    log.info("wrote %s (%.1f s, %d grain tables)", args.render, args.duration, tables)
    return 0


def _oscquery_port(args: argparse.Namespace) -> int | None:
    if args.no_oscquery:
        return None
    if args.oscquery_port is not None:
        return int(args.oscquery_port)
    return args.osc_port + 1 if args.osc_port and args.osc_port < 65535 else 0


def _models_directory(args: argparse.Namespace) -> Path:
    return Path(args.models_dir) if args.models_dir else Path(args.model).resolve().parent


def _bend_settings(args: argparse.Namespace) -> BendSettings:
    return BendSettings(bend_range=args.bend_range, mpe=args.mpe)


def _play(args: argparse.Namespace, model: GrainModelInfo, stop: StopFlag) -> int:
    stop.install()  # from here a Ctrl-C or SIGTERM only raises it: run_live answers it
    from synth.live import AudioUnavailable, LiveSettings, run_live
    from synth.voice.worker import VoiceOptions

    voice_options, voice_model = None, None
    if args.voice is not None:
        voice_model = read_voice_model(args.voice)
        voice_options = VoiceOptions(
            model_path=str(args.voice), lead_ms=args.voice_lead_ms,
            horizon_ms=args.voice_horizon_ms, midi_in=args.midi_in,
            midi_api=args.midi_api, midi_client=f"{args.jack_name}-midi",
            composer_path=str(args.composer) if args.composer else None, seed=args.seed,
            log_level=logging.getLogger().level, bend=_bend_settings(args))
    settings = LiveSettings(
        model_path=args.model, audio=args.audio, server_rate=args.sr, buffer_size=args.buffer,
        output_device=args.output_device, jack_name=args.jack_name, osc_host=args.osc_host,
        osc_port=args.osc_port, allowed_senders=parse_allowed(args.allow), seed=args.seed,
        oscquery_port=_oscquery_port(args),
        verbose=args.verbose, preset_directory=args.preset_dir, preset=args.preset,
        voice=voice_options, voice_model=voice_model, midi_control=args.midi_control,
        midi_api=args.midi_api, midi_map=args.midi_map,
        models_directory=_models_directory(args),
        realtime_control=not args.normal_priority)
    try:
        return run_live(settings, model, stop)
    except AudioUnavailable as error:
        print(f"deepnote-synth: error: {error}", file=sys.stderr)
        return 2
