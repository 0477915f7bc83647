"""The SampleRNN voice as a task for the shared training loop."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
from torch import nn
from torch.nn import functional

from training.core.checkpoint import cpu_model
from training.core.plots import plot_loss_curve
from training.core.warm_start import starting_state
from training.voice.dataset import NoteClip, VoiceDataset
from training.voice.networks import (
    VoiceModelConfig,
    build_voice_network,
    context_samples,
    playback_held_offset,
    streaming_generator,
)
from training.voice.quantize import dequantize, quantize
from training.voice.samplernn import condition_features

PREVIEW_SECONDS = 0.5
EVAL_WINDOWS = 512
EVAL_BATCH = 32


@dataclass
class WindowSet:
    classes: torch.Tensor  # [N, context + window] long
    condition: torch.Tensor  # [N, context + window, 3]

    def __len__(self) -> int:
        return len(self.classes)


def note_onsets(remaining: np.ndarray) -> np.ndarray:
    """Where notes start: the samples-until-end counter rises (from silence, or legato)."""
    rises = np.flatnonzero(remaining[1:] > remaining[:-1]) + 1
    return np.concatenate([[0], rises]) if len(remaining) and remaining[0] > 0 else rises


def onset_window_starts(onset: int, count: int, window: int, context: int) -> list[int]:
    """``count`` window starts that put ``onset`` at even steps through the first half of
    the window's targets, on the 16-sample grid the regular windows start on."""
    return [(onset - context - index * window // (2 * count)) // 16 * 16
            for index in range(count)]


def cut_windows(clips: list[NoteClip], config: VoiceModelConfig, counter_cap: int,
                context: int, onset_windows: int = 0) -> WindowSet:
    """Every window of ``context + window`` samples, starting every ``window_hop``, and
    ``onset_windows`` more around each note's start.

    A note's first samples are a small part of the data, but everything after them depends
    on them: a voice with period taps, taught on the regular windows only, held every note
    it had been started on but started its loud notes at -60 dB, where they stayed (its
    period taps repeated the near-silence it had begun with).
    """
    classes, condition = [], []
    span = context + config.window
    for clip in clips:
        audio = torch.from_numpy(clip.audio)
        clip_classes = quantize(audio, config.levels, config.quantization)
        clip_condition = condition_features(torch.from_numpy(clip.pitch),
                                            torch.from_numpy(clip.velocity),
                                            torch.from_numpy(clip.remaining), counter_cap)
        starts = list(range(0, len(audio) - span + 1, config.window_hop))
        if onset_windows:
            starts += [start for onset in note_onsets(clip.remaining)
                       for start in onset_window_starts(int(onset), onset_windows,
                                                        config.window, context)
                       if 0 <= start <= len(audio) - span]
        for start in starts:
            classes.append(clip_classes[start:start + span])
            condition.append(clip_condition[start:start + span])
    if not classes:
        raise ValueError("no clip is long enough for one training window")
    return WindowSet(torch.stack(classes), torch.stack(condition).float())


def corrupt_history(classes: torch.Tensor, spread: float, levels: int) -> torch.Tensor:
    """The input history with Gaussian noise in the quantised domain, ``U(0, spread)`` levels
    of standard deviation per window; the targets stay clean.

    Played back, the network reads its own sampled output, which is never as clean as the
    recordings it was taught on. Taught on clean history only, a small network met its first
    errors with wider distributions and drifted into noise (LPCNet injects noise into its
    inputs for the same reason).
    """
    if spread <= 0.0:
        return classes
    scale = torch.rand(classes.shape[0], 1, device=classes.device) * spread
    noise = torch.round(torch.randn(classes.shape, device=classes.device) * scale).long()
    return (classes + noise).clamp(0, levels - 1)


QUIET_HISTORY_DB = 12.0  # the quietest a quieter history is made


def quieten_history(classes: torch.Tensor, fraction: float, levels: int, quantization: str,
                    ) -> torch.Tensor:
    """The input history of ``fraction`` of the windows made quieter by a random gain of
    -12..0 dB (one per window); the targets keep their level.

    With period taps, a voice that started a note too quietly repeated it, period after
    period, and faded into a near-silence it never left: a held note's level came from its
    own history, not from its velocity. Taught on quieter histories with the targets at
    their real level, the level comes from the conditioning, and a quiet start grows back.
    """
    if fraction <= 0.0:
        return classes
    windows = classes.shape[0]
    chosen = torch.rand(windows, 1, device=classes.device) < fraction
    decibels = torch.rand(windows, 1, device=classes.device) * -QUIET_HISTORY_DB
    gains = torch.where(chosen, 10.0 ** (decibels / 20.0), torch.ones_like(decibels))
    quieter = quantize(dequantize(classes, levels, quantization) * gains, levels, quantization)
    return torch.where(chosen, quieter, classes)


class VoiceTask:
    def __init__(self, dataset: VoiceDataset, config: VoiceModelConfig, run_dir: Path,
                 initial_weights: dict[str, torch.Tensor] | None = None,
                 input_noise: float = 0.0, onset_windows: int = 0,
                 quiet_history: float = 0.0) -> None:
        self.dataset = dataset
        self.input_noise = input_noise
        self.quiet_history = quiet_history
        self.config = config
        self.run_dir = run_dir
        self.initial_weights = initial_weights
        held_out = set(config.held_out_notes)
        self.train_clips = [c for c in dataset.clips if int(c.pitch.max()) not in held_out]
        self.test_clips = [c for c in dataset.clips if int(c.pitch.max()) in held_out]
        if not self.train_clips:
            raise ValueError("every note is held out: nothing left to train on")
        self.context = context_samples(self.build_model())
        context = self.context
        self.train = cut_windows(self.train_clips, config, dataset.counter_cap, context,
                                 onset_windows)
        self.test = (cut_windows(self.test_clips, config, dataset.counter_cap, context)
                     if self.test_clips else None)
        self.train_size = len(self.train)
        digest = hashlib.sha256(self.train.classes.numpy().tobytes())
        digest.update(self.train.condition.numpy().tobytes())
        self.fingerprint = digest.hexdigest()[:16]

    def build_model(self) -> nn.Module:
        model = build_voice_network(self.config)
        if self.initial_weights is not None:
            model.load_state_dict(starting_state(self.initial_weights, model,
                                                "--init-from run"))
        return model

    def batch(self, indices: torch.Tensor, device: torch.device) -> tuple:
        return (self.train.classes[indices].to(device), self.train.condition[indices].to(device))

    def training_loss(self, model: nn.Module, batch: tuple) -> tuple[torch.Tensor, dict]:
        classes, condition = batch
        history = quieten_history(classes, self.quiet_history, self.config.levels,
                                  self.config.quantization)
        history = corrupt_history(history, self.input_noise, self.config.levels)
        logits = model(history, condition)
        loss = functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                        classes[:, self.context:].reshape(-1))
        return loss, {"bits_per_sample": loss.item() / math.log(2)}

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        windows = self.test if self.test is not None else self.train
        # At most EVAL_WINDOWS evenly spaced windows, EVAL_BATCH at a time: all of them at
        # once held 8.5 GB of WaveNet activations and took minutes per evaluation.
        chosen = torch.linspace(0, len(windows) - 1, min(EVAL_WINDOWS, len(windows))).long()
        total, count = 0.0, 0
        for batch in chosen.split(EVAL_BATCH):
            classes = windows.classes[batch].to(device)
            logits = model(classes, windows.condition[batch].to(device))
            targets = classes[:, self.context:].reshape(-1)
            total += functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets,
                                              reduction="sum").item()
            count += len(targets)
        scope = "held_out" if self.test is not None else "train"
        return {f"{scope}_bits_per_sample": total / count / math.log(2)}

    def write_evaluation_outputs(self, model: nn.Module, step: int, history: dict) -> None:
        key = next(k for k in history["eval"][-1] if k.endswith("bits_per_sample"))
        plot_loss_curve(history, self.run_dir / "loss.png", eval_key=key)
        clip = (self.test_clips or self.train_clips)[0]
        rate = self.dataset.sample_rate
        length = int(PREVIEW_SECONDS * rate)
        start = int(np.argmax(clip.remaining > 0))  # from note-on
        condition = condition_features(
            torch.from_numpy(clip.pitch[start:start + length]),
            torch.from_numpy(clip.velocity[start:start + length]),
            torch.from_numpy(clip.remaining[start:start + length]), self.dataset.counter_cap)
        on_cpu = cpu_model(model)
        # played as the synth will play the exported file
        generator = streaming_generator(on_cpu, seed=step,
                                        held_offset=playback_held_offset(on_cpu))
        audio = generator.audio(generator.generate(condition[None].float()))[0].numpy()
        previews = self.run_dir / "previews"
        previews.mkdir(exist_ok=True)
        soundfile.write(previews / f"step{step:06d}_{clip.name}.wav", audio, rate,
                        subtype="FLOAT")
        model.train()
