"""A voice training run folder: settings, the note dataset, and the task that trains it."""

from __future__ import annotations

import argparse
from pathlib import Path

from training.core.distributed import ProcessGroup, barrier
from training.core.loop import LoopSettings
from training.core.run_folder import RunKind, new_run_config, open_run, write_run_config
from training.core.warm_start import read_source_weights
from training.voice.dataset import build_voice_dataset
from training.voice.networks import VoiceModelConfig
from training.voice.note_render import parse_notes
from training.voice.task import VoiceTask


def prepare_voice_run(args: argparse.Namespace, command: str,
                      group: ProcessGroup) -> tuple[VoiceTask, LoopSettings]:
    run_dir: Path = args.run_dir
    config = open_run(run_dir, args, lambda: _new_config(args, command))
    dataset = build_voice_dataset(Path(config["data"]), config["sample_rate"],
                                  config["counter_cap"])
    model = VoiceModelConfig(**{**config["model"],
                                "held_out_notes": tuple(config["model"]["held_out_notes"])})
    # A resumed run takes its weights from its own checkpoint, not from where it started.
    initial = (read_source_weights(Path(config["init_from"]["run_dir"]))[0]
               if config.get("init_from") and not args.resume else None)
    task = VoiceTask(dataset, model, run_dir, initial, config.get("input_noise", 0.0),
                     config.get("onset_windows", 0), config.get("quiet_history", 0.0))
    if group.is_main and not args.resume:
        write_run_config(run_dir, {**config, "data_summary": {
            "clips": len(dataset.clips), "notes": dataset.notes,
            "train_windows": task.train_size, "skipped": dataset.skipped}})
    barrier(group)
    return task, LoopSettings(run_dir=run_dir, **config["loop"])


def _new_config(args: argparse.Namespace, command: str) -> dict:
    held_out = parse_notes(args.hold_out) if args.hold_out else ()
    model = VoiceModelConfig(arch=args.arch, dim=args.dim, channels=args.channels,
                             skip_channels=args.skip_channels, stacks=args.stacks,
                             layers_per_stack=args.layers_per_stack,
                             quantization=args.quantization, window=args.window,
                             window_hop=args.window_hop, held_out_notes=held_out,
                             period_taps=args.period_taps, sample_rate=args.sample_rate)
    start = None
    if args.init_from is not None:
        _, step = read_source_weights(args.init_from)
        start = {"run_dir": str(args.init_from.resolve()), "step": step}
    return new_run_config(RunKind.VOICE, args, command, model, sample_rate=args.sample_rate,
                          counter_cap=args.counter_cap, init_from=start,
                          input_noise=args.input_noise, onset_windows=args.onset_windows,
                          quiet_history=args.quiet_history)
