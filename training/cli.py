"""Console entry points: ``deepnote-train``, ``deepnote-eval`` and ``deepnote-export``."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from synth import __version__
from synth.arguments import OneLineParser, number, whole
from synth.contract.model_file import MAX_LEVEL_AVERAGING, ModelFileError
from training.core.checkpoint import CheckpointError
from training.core.run_folder import RunError, RunKind
from training.grains.dataset import DatasetError, GrainDatasetConfig

log = logging.getLogger("deepnote")

USAGE_ERRORS = (DatasetError, CheckpointError, ModelFileError, FileNotFoundError, RunError)


def train_main(argv: Sequence[str] | None = None) -> int:
    """``deepnote-train grains --data DIR --run-dir RUN_DIR ...``"""
    parser = OneLineParser(prog="deepnote-train", description=__doc__,
                           formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    models = parser.add_subparsers(dest="model", required=True, metavar="MODEL")

    def add_model(name: str, help: str) -> argparse.ArgumentParser:
        return models.add_parser(name, help=help, formatter_class=DefaultsHelpFormatter)

    grains = add_model("grains", "train the grain VAE on a folder of audio")
    _add_grain_arguments(grains)
    voice = add_model("voice", "train the voice (SampleRNN or WaveNet) on WAV + MIDI pairs")
    _add_voice_arguments(voice)
    voice_data = add_model("voice-data",
                           "render a WAV + MIDI note dataset from a soundfont (fluidsynth)")
    _add_voice_data_arguments(voice_data)
    grains_data = add_model("grains-data",
                            "render a folder of instrument notes or of drums and noises from "
                            "a soundfont (fluidsynth), to train or judge grain models on")
    _add_grains_data_arguments(grains_data)
    wavenet = add_model("wavenet",
                        "train an unconditioned WaveNet on any folder of audio (loops, beats)")
    _add_audio_wavenet_arguments(wavenet)
    composer = add_model("composer", "train the LSTM composer on a folder of MIDI files")
    _add_composer_arguments(composer)
    composer_data = add_model("composer-data",
                              "write the Bach chorales of music21's corpus as MIDI files")
    composer_data.add_argument("--out", type=Path, required=True, help="folder for MIDI files")
    composer_data.add_argument("--limit", type=whole(1), help="only the first N chorales")
    args = parser.parse_args(argv)
    if hasattr(args, "default_steps"):
        args.steps_given = args.steps is not None
        args.steps = args.default_steps if args.steps is None else args.steps
    if args.model == "voice-data":
        return _run_cli(lambda: _render_voice_data(args), "deepnote-train")
    if args.model == "composer-data":
        return _run_cli(lambda: _write_chorales(args), "deepnote-train")
    if args.model == "grains-data":
        return _run_cli(lambda: _render_grains_data(args), "deepnote-train")
    command = "deepnote-train " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    if args.model == "voice":
        return _run_cli(lambda: _train_voice(args, command), "deepnote-train")
    if args.model == "composer":
        return _run_cli(lambda: _train_composer(args, command), "deepnote-train")
    if args.model == "wavenet":
        return _run_cli(lambda: _train_audio_wavenet(args, command), "deepnote-train")
    return _run_cli(lambda: _train_grains(args, command), "deepnote-train")


def _add_loop_arguments(parser: argparse.ArgumentParser, steps: int, batch_size: int,
                        learning_rate: float, eval_every: int) -> None:
    """Arguments every model's training shares."""
    parser.add_argument("--data", type=Path, help="data folder (not with --resume)")
    parser.add_argument("--run-dir", type=Path, required=True, help="run folder (created)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its last checkpoint, with the "
                             "settings it was started with (and --steps, if given: the "
                             "learning-rate schedule then spans the new total)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a new run in a --run-dir that holds one, deleting it")
    parser.add_argument("--steps", type=whole(1), default=None,
                        help=f"training steps (default {steps})")
    parser.set_defaults(default_steps=steps)
    parser.add_argument("--batch-size", type=whole(1), default=batch_size, help="examples a step")
    parser.add_argument("--learning-rate", type=number(0.0, 10.0, low_open=True),
                        default=learning_rate,
                        help="Adam's, with cosine decay to the last step")
    parser.add_argument("--eval-every", type=whole(1), default=eval_every,
                        help="steps between held-out evaluations (and previews)")
    parser.add_argument("--checkpoint-every", type=whole(1), default=500,
                        help="steps between checkpoints (what --resume starts from)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where to train")
    parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0,
                        help="data order and initial weights")
    parser.add_argument("--threads", type=whole(1, 1024),
                        help="torch CPU threads (default: torch's)")


def _add_voice_arguments(parser: argparse.ArgumentParser) -> None:
    from training.voice.networks import ARCHITECTURES
    from training.voice.quantize import QUANTIZATIONS

    _add_loop_arguments(parser, steps=20000, batch_size=16, learning_rate=1e-3,
                        eval_every=1000)
    parser.add_argument("--sample-rate", type=whole(1000, 192000), default=16000)
    parser.add_argument("--counter-cap", type=whole(1), default=8000,
                        help="cap of the samples-until-end counter (the release length a "
                             "live note-off gives)")
    parser.add_argument("--arch", choices=ARCHITECTURES, default="samplernn",
                        help="network: SampleRNN (default) or WaveNet")
    parser.add_argument("--dim", type=whole(1, 4096), default=96,
                        help="SampleRNN GRU and MLP width (96 generates 4 voices in real time "
                             "on one core; see tests/benchmarks/voice_speed.py)")
    _add_wavenet_shape_arguments(parser)
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="mu-law")
    parser.add_argument("--window", type=whole(16), default=1024,
                        help="target samples per training window (multiple of 16)")
    parser.add_argument("--window-hop", type=whole(1), default=512)
    parser.add_argument("--hold-out", help="notes kept out of training, e.g. F#2,G#2")
    parser.add_argument("--init-from", type=Path, metavar="RUN_DIR",
                        help="start from another voice run's weights (fine-tuning)")
    parser.add_argument("--input-noise", type=number(0.0, 64.0), default=0.0, metavar="LEVELS",
                        help="teach on a noisy history: up to this many quantisation levels "
                             "of Gaussian noise (standard deviation) on the network's input "
                             "samples, drawn per window; the targets stay clean")
    parser.add_argument("--onset-windows", type=whole(0, 256), default=0, metavar="N",
                        help="N more training windows around every note's start (a voice "
                             "must learn to start its notes, a small part of the data)")
    parser.add_argument("--quiet-history", type=number(0.0, 1.0), default=0.0,
                        metavar="FRACTION",
                        help="teach this fraction of the windows on a history made quieter by "
                             "a random -12..0 dB, the targets at their real level (the level "
                             "comes from the velocity, not from what was played before)")
    parser.add_argument("--period-taps", action="store_true",
                        help="SampleRNN: tell the sample level the samples one pitch period "
                             "back (a long-term predictor; see training/voice/samplernn.py)")


def _train_voice(args: argparse.Namespace, command: str) -> int:
    from training.voice.run import prepare_voice_run

    if args.window % 16:
        raise UsageError("--window must be a multiple of 16")
    return _run_training(args, lambda group: prepare_voice_run(args, command, group),
                         unit="windows")


def _add_voice_data_arguments(parser: argparse.ArgumentParser) -> None:
    from training.voice.note_render import DEFAULT_SOUNDFONT, THESIS_NOTES, RenderPlan

    defaults = RenderPlan(notes=())
    parser.add_argument("--out", type=Path, required=True, help="folder for WAV + MIDI pairs")
    parser.add_argument("--notes", default=",".join(THESIS_NOTES),
                        help="F2,G2,A2 or a range F2-C3 (default: the thesis set)")
    parser.add_argument("--velocities", default="100", help="comma-separated, 1..127")
    parser.add_argument("--durations", default="2", help="note lengths in seconds")
    parser.add_argument("--program", type=whole(1, 128), default=defaults.program,
                        help="General MIDI program, 1..128 (57 = trumpet, 58 = trombone)")
    parser.add_argument("--sample-rate", type=whole(1000, 192000), default=defaults.sample_rate)
    parser.add_argument("--file-seconds", type=number(0.0, 600.0, low_open=True),
                        default=defaults.file_seconds)
    parser.add_argument("--lead-silence", type=number(0.0, 60.0), default=defaults.lead_silence)
    parser.add_argument("--soundfont", type=Path, default=DEFAULT_SOUNDFONT)


def _render_voice_data(args: argparse.Namespace) -> int:
    from training.voice.note_render import RenderPlan, parse_notes, render_note_set

    try:
        velocities = tuple(int(v) for v in args.velocities.split(","))
        durations = tuple(float(d) for d in args.durations.split(","))
    except ValueError as error:
        raise UsageError(f"--velocities and --durations take comma-separated numbers "
                         f"({error})") from error
    if not all(1 <= v <= 127 for v in velocities) or not all(d > 0 for d in durations):
        raise UsageError("velocities must be 1..127 and durations positive")
    if not 1 <= args.program <= 128:
        raise UsageError("--program must be 1..128")
    plan = RenderPlan(notes=parse_notes(args.notes), velocities=velocities,
                      durations=durations, program=args.program, sample_rate=args.sample_rate,
                      file_seconds=args.file_seconds, lead_silence=args.lead_silence,
                      soundfont=args.soundfont)
    stems = render_note_set(plan, args.out)
    print(f"wrote {len(stems)} WAV + MIDI pairs to {args.out}")
    return 0


def _add_wavenet_shape_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", type=whole(1, 4096), default=32,
                        help="WaveNet residual channels")
    parser.add_argument("--skip-channels", type=whole(1, 4096), default=64,
                        help="WaveNet skip and output channels")
    parser.add_argument("--stacks", type=whole(1, 64), default=2, help="WaveNet dilation stacks")
    parser.add_argument("--layers-per-stack", type=whole(1, 32), default=8,
                        help="WaveNet layers per stack (dilations 1, 2, 4, ...)")


def _add_audio_wavenet_arguments(parser: argparse.ArgumentParser) -> None:
    _add_loop_arguments(parser, steps=10000, batch_size=16, learning_rate=1e-3,
                        eval_every=1000)
    parser.add_argument("--sample-rate", type=whole(1000, 192000), default=16000)
    _add_wavenet_shape_arguments(parser)
    parser.add_argument("--window", type=whole(16), default=1024,
                        help="target samples per training window")
    parser.add_argument("--window-hop", type=whole(1), default=512)


def _train_audio_wavenet(args: argparse.Namespace, command: str) -> int:
    from training.voice.audio_wavenet import prepare_audio_wavenet_run

    return _run_training(args, lambda group: prepare_audio_wavenet_run(args, command, group),
                         unit="windows")


def generate_main(argv: Sequence[str] | None = None) -> int:
    """``deepnote-generate RUN_DIR --seconds 8 --out loop.wav``: audio from an
    unconditioned WaveNet run (``deepnote-train wavenet``)."""
    parser = OneLineParser(prog="deepnote-generate", description=generate_main.__doc__,
                           formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("run_dir", type=Path, help="a run folder of deepnote-train wavenet")
    parser.add_argument("--out", type=Path, required=True, help="WAV file to write")
    parser.add_argument("--seconds", type=number(0.0, 3600.0, low_open=True), default=4.0)
    parser.add_argument("--temperature", type=number(0.0, 10.0, low_open=True), default=1.0)
    parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0)
    args = parser.parse_args(argv)

    def generate() -> int:
        import soundfile

        from synth.files import atomic_write_bytes
        from training.voice.audio_wavenet import generate_audio, load_audio_wavenet

        if args.seconds <= 0 or args.temperature <= 0:
            raise UsageError("--seconds and --temperature must be positive")
        _check_output(args.out)
        model, rate = load_audio_wavenet(args.run_dir)
        audio = generate_audio(model, args.seconds, rate, args.seed, args.temperature)
        atomic_write_bytes(args.out, lambda file: soundfile.write(file, audio, rate,
                                                                 format="WAV",
                                                                 subtype="FLOAT"))
        print(f"wrote {args.out} ({args.seconds:g} s at {rate} Hz)")
        return 0

    return _run_cli(generate, "deepnote-generate")


def _add_composer_arguments(parser: argparse.ArgumentParser) -> None:
    from synth.composer.piano_roll import RollRange
    from training.composer.task import ComposerConfig

    roll, model = RollRange(), ComposerConfig()
    _add_loop_arguments(parser, steps=4000, batch_size=32, learning_rate=2e-3,
                        eval_every=500)
    parser.add_argument("--hidden", type=whole(1, 4096), default=model.hidden, help="LSTM width")
    parser.add_argument("--layers", type=whole(1, 16), default=model.layers, help="LSTM layers")
    parser.add_argument("--window", type=whole(16), default=model.window,
                        help="steps per training window")
    parser.add_argument("--transpose", type=whole(0, 12), default=model.transpose,
                        help="also train on copies shifted by up to this many semitones")
    parser.add_argument("--gamma", type=number(0.0, 100.0), default=model.gamma,
                        help="focal loss exponent (0: plain cross-entropy)")
    parser.add_argument("--lowest-pitch", type=whole(0, 127), default=roll.lowest)
    parser.add_argument("--pitches", type=whole(1, 128), default=roll.pitches)
    parser.add_argument("--steps-per-quarter", type=whole(1, 96), default=roll.steps_per_quarter)


def _train_composer(args: argparse.Namespace, command: str) -> int:
    from training.composer.run import prepare_composer_run

    if not (0 <= args.lowest_pitch and args.lowest_pitch + args.pitches <= 128):
        raise UsageError("--lowest-pitch and --pitches must stay within MIDI notes 0..127")
    return _run_training(args, lambda group: prepare_composer_run(args, command, group),
                         unit="windows")


def _write_chorales(args: argparse.Namespace) -> int:
    from training.composer.chorales import export_bach_chorales

    if args.limit is not None and args.limit <= 0:
        raise UsageError("--limit must be positive")
    written = export_bach_chorales(args.out, args.limit)
    print(f"wrote {len(written)} chorales to {args.out}")
    return 0


def eval_main(argv: Sequence[str] | None = None) -> int:
    """``deepnote-eval RUN_DIR``: held-out metrics of a run next to the PCA baseline.
    ``deepnote-eval voice MODEL``: how an exported voice sounds, beside the instrument.
    ``deepnote-eval composer MODEL --data DIR``: the composer's phrases against its data."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["voice"]:
        return _eval_voice(arguments[1:])
    if arguments[:1] == ["composer"]:
        return _eval_composer(arguments[1:])
    parser = OneLineParser(prog="deepnote-eval", description=eval_main.__doc__,
                           formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("run_dir", type=Path, help="a run folder written by deepnote-train")
    parser.add_argument("--out", type=Path, help="report folder (default RUN_DIR/eval)")
    parser.add_argument("--other", type=Path, metavar="DIR",
                        help="also resynthesise the audio files of DIR (sound unlike the "
                             "training data) through the model and PCA")
    args = parser.parse_args(arguments)

    def evaluate() -> int:
        from training.grains.report import evaluate_run

        if args.other is not None and not args.other.is_dir():
            raise UsageError(f"--other {args.other}: no such folder")
        report = evaluate_run(args.run_dir, args.out or args.run_dir / "eval", args.other)
        shown = ("models", "other", "ratios_to_pca")
        print(json.dumps({key: report[key] for key in shown if key in report},
                         indent=1))
        return 0

    return _run_cli(evaluate, "deepnote-eval")


def _eval_voice(argv: list[str]) -> int:
    parser = OneLineParser(
        prog="deepnote-eval voice",
        description="how an exported voice sounds: every semitone through the synth's MIDI "
                    "render and the bank, beside the same notes from the reference instrument",
        formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("model", type=Path, help="an exported voice (.pt)")
    parser.add_argument("--out", type=Path, help="report folder (default: MODEL-eval beside it)")
    parser.add_argument("--notes", help="E2-E4 (every semitone) or E2,G2 (default: the trained "
                                        "span)")
    parser.add_argument("--hold", type=number(0.0, 10.0, low_open=True), default=1.0,
                        help="seconds each key is held")
    parser.add_argument("--takes", type=whole(1, 64), default=4,
                        help="takes of each note per seed: the bank's voices, the synth's passes "
                        "up the range")
    parser.add_argument("--seeds", default="0", help="comma-separated generation seeds")
    parser.add_argument("--velocity", type=whole(1, 127), default=100, help="MIDI velocity, 1..127")
    parser.add_argument("--program", type=whole(1, 128), default=57,
                        help="General MIDI program of the reference (57: trumpet, the "
                             "shipped voice's data; 58: trombone)")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="soundfont of the reference (default: FluidR3 GM)")
    parser.add_argument("--reference-dir", type=Path,
                        help="recordings of the instrument (WAV + MIDI pairs, such as the "
                             "voice's training folder) as the reference, instead of fluidsynth")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the reference (no fluidsynth); the bars that need it are "
                             "not judged")
    args = parser.parse_args(argv)

    def evaluate() -> int:
        from training.voice.evaluation import Reference, evaluate_voice, format_report
        from training.voice.note_render import DEFAULT_SOUNDFONT, parse_notes

        try:
            seeds = [int(seed) for seed in args.seeds.split(",")]
        except ValueError as error:
            raise UsageError(f"--seeds takes comma-separated whole numbers ({error})") from error
        reference = None if args.no_reference else Reference(
            args.program, args.soundfont or DEFAULT_SOUNDFONT, args.reference_dir)
        notes = parse_notes(args.notes) if args.notes else None
        out = args.out or args.model.with_name(args.model.stem + "-eval")
        report = evaluate_voice(args.model, out, notes, args.hold, seeds, args.takes,
                                args.velocity, reference)
        print(format_report(report))
        print(f"wrote {out / 'voice_report.json'} and {out / 'voice_report.png'}")
        return 0

    return _run_cli(evaluate, "deepnote-eval")


def _eval_composer(argv: list[str]) -> int:
    parser = OneLineParser(prog="deepnote-eval composer",
                           formatter_class=DefaultsHelpFormatter,
                                     description="the composer's phrases against its data")
    parser.add_argument("model", type=Path, help="an exported composer (.pt)")
    parser.add_argument("--data", type=Path, required=True,
                        help="the MIDI folder it was trained on (its held-out files are used)")
    parser.add_argument("--out", type=Path, help="report folder (default: beside the model)")
    parser.add_argument("--bars", type=whole(1, 256), default=4)
    parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0)
    args = parser.parse_args(argv)

    def evaluate() -> int:
        from training.composer.evaluation import evaluate_composer

        out = args.out or args.model.parent
        report = evaluate_composer(args.model, args.data, out, args.bars, args.seed)
        print(json.dumps({key: report[key] for key in
                          ("held_out_evaluation", "held_out_music", "composed")}, indent=1))
        return 0

    return _run_cli(evaluate, "deepnote-eval")


def export_main(argv: Sequence[str] | None = None) -> int:
    """``deepnote-export RUN_DIR --out models/grains.pt``"""
    parser = OneLineParser(prog="deepnote-export", description=export_main.__doc__,
                           formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("run_dir", type=Path, help="a run folder written by deepnote-train")
    parser.add_argument("--out", type=Path, required=True, help="model file to write (.pt)")
    parser.add_argument("--held-offset", type=number(0.0, 10.0),
                        help="SampleRNN voice: a held key's counter is played as 1 + this "
                             "(default 0.3; 0 plays it as trained)")
    parser.add_argument("--tune", action="store_true",
                        help="voice: measure how far each trained note plays from its pitch "
                             "(pyin, seeds apart from the evaluation's) and store the shift "
                             "of the pitch input that plays it in tune")
    parser.add_argument("--post-filter", type=number(0.0, 1.0), default=0.0, metavar="GAIN",
                        help="voice: the gain of the pitch post-filter the synth puts after "
                             "the network (each sample averaged with those one to four periods "
                             "back, weighted by powers of GAIN; 0: none)")
    parser.add_argument("--low-cut", type=number(0.0, 1.0), default=0.0, metavar="RATIO",
                        help="voice: a high-pass after the post-filter that follows the note, "
                             "at RATIO times its fundamental (takes away the rumble the "
                             "network samples below the note; 0: none)")
    parser.add_argument("--level-averaging", type=whole(0, MAX_LEVEL_AVERAGING), default=0,
                        metavar="CLASSES",
                        help="SampleRNN voice: play the mean of the levels within CLASSES of "
                             "each drawn one, weighted by the network's probabilities, while "
                             "the network hears the drawn level (0: the drawn level)")
    args = parser.parse_args(argv)

    def export() -> int:
        from training.core.run_folder import read_run_config

        kind = read_run_config(args.run_dir).get("kind")
        if kind == RunKind.COMPOSER:
            from training.composer.export import export_composer_run

            metadata = export_composer_run(args.run_dir, args.out)
            print(f"wrote {args.out} (composer, {metadata['pitches']} pitches from MIDI "
                  f"{metadata['lowest_pitch']})")
            return 0
        if kind == RunKind.VOICE:
            from training.voice.export import export_voice_run

            metadata = export_voice_run(args.run_dir, args.out, held_offset=args.held_offset,
                                        tune=args.tune, post_filter=args.post_filter,
                                        low_cut=args.low_cut,
                                        level_averaging=args.level_averaging)
            print(f"wrote {args.out} (voice, {metadata['voices']} voices, notes "
                  f"{metadata['trained_notes']}, {metadata['sample_rate']} Hz)")
            if "tuning_cents" in metadata:
                cents = metadata["tuning_cents"]
                for (note, shift), before, after in zip(metadata["pitch_tuning"],
                                                        cents["untuned"], cents["tuned"],
                                                        strict=True):
                    print(f"  note {note}: {_cents(before)} untuned; told {shift:+.2f} "
                          f"semitones, {_cents(after)}")
            return 0
        if args.tune or args.post_filter or args.low_cut or args.level_averaging:
            raise UsageError("--tune, --post-filter, --low-cut and --level-averaging are for "
                             "voice runs")
        from training.grains.export import export_grain_run

        metadata = export_grain_run(args.run_dir, args.out)
        print(f"wrote {args.out} ({metadata['kind']}, latent {metadata['latent_dim']}, "
              f"{metadata['sample_rate']} Hz)")
        return 0

    return _run_cli(export, "deepnote-export")


def _add_grain_arguments(parser: argparse.ArgumentParser) -> None:
    from training.grains.presets import DEFAULT_GRAIN_PRESET, GRAIN_PRESETS

    defaults = GrainDatasetConfig()
    _add_loop_arguments(parser, steps=8000, batch_size=128, learning_rate=1e-3,
                        eval_every=1000)
    parser.add_argument("--preset", choices=sorted(GRAIN_PRESETS), default=DEFAULT_GRAIN_PRESET,
                        help="level-shape: level apart from timbre, the shipped model; "
                             "spectral: the prototype's network with a multi-resolution STFT "
                             "loss; prototype: the original IRCAM student project's")
    parser.add_argument("--beta", type=number(0.0, 100.0), help="KL weight (default: the preset's)")
    parser.add_argument("--stft-weight", type=number(0.0, 1000.0),
                        help="multi-resolution STFT loss weight (default: the preset's)")
    parser.add_argument("--eq-augment", type=number(0.0, 1.0), metavar="FRACTION",
                        help="share of each batch passed through a random EQ (gains of 24 dB "
                             "standard deviation), which "
                             "widens what the model can describe beyond its folder (default: "
                             "the preset's)")
    parser.add_argument("--sample-rate", type=whole(1000, 192000), default=defaults.sample_rate)
    parser.add_argument("--grain-size", type=whole(32, 8192), default=defaults.grain_size,
                        help="samples a grain; 512 gives the 16-dimensional latent the synth "
                             "plays")
    parser.add_argument("--hop", type=whole(1), default=defaults.hop)
    parser.add_argument("--silence-db", type=number(-200.0, 0.0), default=defaults.silence_db)
    parser.add_argument("--test-fraction", type=number(0.0, 0.9, low_open=True),
                        default=defaults.test_fraction)
    parser.add_argument("--no-normalize", action="store_true",
                        help="keep each file's level (default: peak-normalise to 0.9)")


def _add_grains_data_arguments(parser: argparse.ArgumentParser) -> None:
    from training.grains.sound_folders import SoundFolder
    from training.voice.note_render import DEFAULT_SOUNDFONT

    parser.add_argument("--kind", type=SoundFolder, choices=list(SoundFolder), required=True,
                        help="instruments: 20 General MIDI programs, 3 notes, 2 velocities, "
                             "with releases; percussion: 8 drum kits x 12 drums, and 8 sound "
                             "effects")
    parser.add_argument("--out", type=Path, required=True, help="folder for the WAV files")
    parser.add_argument("--sample-rate", type=whole(1000, 192000), default=16000)
    parser.add_argument("--soundfont", type=Path, default=DEFAULT_SOUNDFONT)


def _render_grains_data(args: argparse.Namespace) -> int:
    from training.grains.sound_folders import render_sound_folder

    count = render_sound_folder(args.kind, args.out, args.sample_rate, args.soundfont)
    print(f"wrote {count} WAV files to {args.out}")
    return 0


def _train_grains(args: argparse.Namespace, command: str) -> int:
    from training.grains.presets import GRAIN_PRESETS, GrainArchitecture
    from training.grains.run import prepare_grain_run

    convolutional = GRAIN_PRESETS[args.preset].architecture is GrainArchitecture.CONV
    if convolutional and args.grain_size % 32:
        raise UsageError(f"--grain-size {args.grain_size} is not a multiple of 32 (the "
                         "encoder's total stride)")
    return _run_training(args, lambda group: prepare_grain_run(args, command, group),
                         unit="grains")


def _run_training(args: argparse.Namespace, prepare: Callable, unit: str) -> int:
    import torch

    from training.core.distributed import start_process_group, stop_process_group
    from training.core.loop import run_training

    if args.threads:
        torch.set_num_threads(args.threads)
    group = start_process_group(args.device)
    try:
        task, settings = prepare(group)
        history = run_training(task, settings, group, resume=args.resume)
        if group.is_main:
            rate = history["examples"] / max(history["seconds"], 1e-9)
            print(f"trained {settings.steps} steps in {history['seconds']:.0f} s "
                  f"({rate:.0f} {unit}/s); run folder {settings.run_dir}")
    finally:
        stop_process_group(group)
    return 0


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                            argparse.RawDescriptionHelpFormatter):
    """``--help`` shows each option's default (but not "None" for options without one)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class UsageError(Exception):
    """A command-line value that cannot work."""


def _cents(cents: float | None) -> str:
    return "no take near it" if cents is None else f"{cents:+.0f} cents"


def _check_output(path: Path) -> None:
    """Refuse, before any work, an output path that cannot be written or replaced."""
    from synth.files import OutputError, replaceable_target

    try:
        replaceable_target(path)
    except OutputError as error:
        raise UsageError(str(error)) from None


def _run_cli(action: Callable[[], int], prog: str) -> int:
    """Run a command: usage errors exit 2, runtime failures 1, each with one line
    ``<prog>: error: <reason>``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        return action()
    except (*USAGE_ERRORS, UsageError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; resume a training run with --resume", file=sys.stderr)
        return 130
    except OSError as error:  # disk full, unwritable folder: the last checkpoint is intact
        where = f" ({error.filename})" if error.filename else ""
        print(f"{prog}: error: {error.strerror or error}{where}; files written before are "
              "intact", file=sys.stderr)
        return 1
