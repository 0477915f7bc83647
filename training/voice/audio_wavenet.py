"""The unconditioned WaveNet: trained on any folder of audio (loops, beats, textures) and
asked only to continue itself, as in the project's first experiment.

Every file is decoded to mono at the model's rate and peak-normalised; a file that cannot
be decoded, or holds non-finite samples, is skipped and named.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np
import soundfile
import torch
from torch import nn
from torch.nn import functional

from training.core.audio_files import AudioDecodeError, find_audio_files, load_mono
from training.core.checkpoint import cpu_model
from training.core.distributed import ProcessGroup, barrier
from training.core.loop import LoopSettings
from training.core.plots import plot_loss_curve
from training.core.run_folder import RunKind, new_run_config, open_run, write_run_config
from training.grains.dataset import DatasetError
from training.voice.networks import VoiceModelConfig, build_voice_network
from training.voice.quantize import quantize
from training.voice.wavenet import WaveNet

log = logging.getLogger(__name__)

PREVIEW_SECONDS = 1.0
PEAK = 0.9


def load_audio_folder(folder: Path, sample_rate: int) -> tuple[list[np.ndarray], dict]:
    """Peak-normalised mono signals of every decodable file, and the skipped ones."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such data folder")
    signals, skipped = [], {}
    for path in find_audio_files(folder):
        try:
            signal = load_mono(path, sample_rate)
        except AudioDecodeError as error:
            skipped[path.name] = str(error)
            log.warning("skipped %s", error)
            continue
        if not np.isfinite(signal).all() or not np.abs(signal).max(initial=0.0) > 0:
            skipped[path.name] = "silent or non-finite samples"
            log.warning("skipped %s: silent or non-finite samples", path)
            continue
        signals.append((signal * (PEAK / np.abs(signal).max())).astype(np.float32))
    if not signals:
        raise DatasetError(f"{folder}: no usable audio file ({len(skipped)} skipped)")
    return signals, skipped


class AudioWaveNetTask:
    def __init__(self, signals: list[np.ndarray], config: VoiceModelConfig, sample_rate: int,
                 run_dir: Path, held_out_every: int = 10) -> None:
        self.config, self.sample_rate, self.run_dir = config, sample_rate, run_dir
        context = self.build_model().receptive_field
        self.context = context
        span = context + config.window
        windows = [quantize(torch.from_numpy(s[start:start + span]), config.levels,
                            config.quantization)
                   for s in signals for start in range(0, len(s) - span + 1, config.window_hop)]
        if not windows:
            raise DatasetError(f"no file is {span} samples long (one training window)")
        everything = torch.stack(windows)
        held = torch.arange(len(everything)) % held_out_every == 0
        self.train = everything[~held] if held.any() and (~held).any() else everything
        self.test = everything[held] if held.any() and (~held).any() else everything
        self.train_size = len(self.train)
        self.fingerprint = hashlib.sha256(self.train.numpy().tobytes()).hexdigest()[:16]

    def build_model(self) -> WaveNet:
        return cast(WaveNet, build_voice_network(self.config))

    def batch(self, indices: torch.Tensor, device: torch.device) -> torch.Tensor:
        return self.train[indices].to(device)

    def _loss(self, model: nn.Module, classes: torch.Tensor) -> torch.Tensor:
        condition = torch.zeros(*classes.shape, 0, device=classes.device)
        logits = model(classes, condition)
        return functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                        classes[:, self.context:].reshape(-1))

    def training_loss(self, model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        loss = self._loss(model, batch)
        return loss, {"bits_per_sample": loss.item() / math.log(2)}

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return {"held_out_bits_per_sample":
                self._loss(model, self.test.to(device)).item() / math.log(2)}

    def write_evaluation_outputs(self, model: nn.Module, step: int, history: dict) -> None:
        plot_loss_curve(history, self.run_dir / "loss.png", eval_key="held_out_bits_per_sample")
        on_cpu = cpu_model(model)
        audio = generate_audio(cast(WaveNet, on_cpu), PREVIEW_SECONDS, self.sample_rate, seed=step)
        previews = self.run_dir / "previews"
        previews.mkdir(exist_ok=True)
        soundfile.write(previews / f"step{step:06d}.wav", audio, self.sample_rate,
                        subtype="FLOAT")
        model.train()


def generate_audio(model: WaveNet, seconds: float, sample_rate: int, seed: int = 0,
                   temperature: float = 1.0) -> np.ndarray:
    """``seconds`` of the model continuing silence, through the fast numpy bank."""
    from synth.contract.torchscript import module_weights, torchscript_warnings_silenced
    from synth.voicebank.wavenet import FastWaveNetBank
    from training.voice.scripted_wavenet import ScriptedWaveNetVoice

    with torchscript_warnings_silenced():
        scripted = torch.jit.script(ScriptedWaveNetVoice(model.eval(), 1))
    bank = FastWaveNetBank(module_weights(scripted), 1, seed=seed)
    samples = int(seconds * sample_rate)
    return bank.generate(np.zeros((1, samples, 0), np.float32), temperature)[0]


def prepare_audio_wavenet_run(args: argparse.Namespace, command: str,
                              group: ProcessGroup) -> tuple[AudioWaveNetTask, LoopSettings]:
    run_dir: Path = args.run_dir
    config = open_run(run_dir, args, lambda: _new_config(args, command))
    signals, skipped = load_audio_folder(Path(config["data"]), config["sample_rate"])
    model = replace(VoiceModelConfig(), **{**config["model"], "held_out_notes": ()})
    task = AudioWaveNetTask(signals, model, config["sample_rate"], run_dir)
    if group.is_main and not args.resume:
        write_run_config(run_dir, {**config, "data_summary": {
            "files": len(signals), "skipped": skipped, "train_windows": task.train_size}})
    barrier(group)
    return task, LoopSettings(run_dir=run_dir, **config["loop"])


def _new_config(args: argparse.Namespace, command: str) -> dict:
    model = VoiceModelConfig(arch="wavenet", channels=args.channels,
                             skip_channels=args.skip_channels, stacks=args.stacks,
                             layers_per_stack=args.layers_per_stack, window=args.window,
                             window_hop=args.window_hop, condition_features=0)
    return new_run_config(RunKind.AUDIO_WAVENET, args, command, model,
                          sample_rate=args.sample_rate)


def load_audio_wavenet(run_dir: Path) -> tuple[WaveNet, int]:
    """The trained model of an ``audio-wavenet`` run folder, and its sample rate."""
    from training.core.checkpoint import CHECKPOINT_NAME, load_checkpoint, load_weights
    from training.core.run_folder import RunError, read_run_config

    config = read_run_config(run_dir)
    if config.get("kind") != RunKind.AUDIO_WAVENET:
        raise RunError(f"{run_dir}: a {config.get('kind')} run, not an unconditioned WaveNet "
                       "(deepnote-train wavenet)")
    model = build_voice_network(replace(VoiceModelConfig(),
                                        **{**config["model"], "held_out_notes": ()}))
    load_weights(model, load_checkpoint(run_dir / CHECKPOINT_NAME), run_dir, "WaveNet")
    return cast(WaveNet, model.eval()), int(config["sample_rate"])
