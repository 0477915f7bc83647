"""The two voice architectures behind one configuration: SampleRNN and WaveNet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from torch import nn

from training.voice.samplernn import CONDITION_FEATURES, SampleRNN
from training.voice.samplernn_generation import VoiceGenerator
from training.voice.wavenet import WaveNet
from training.voice.wavenet_generation import CachedWaveNetGenerator

ARCHITECTURES = ("samplernn", "wavenet")

# Played back, a held key's counter reads 1 + this (training.voice.samplernn.held_counter).
DEFAULT_HELD_OFFSET = 0.3


@dataclass(frozen=True)
class VoiceModelConfig:
    arch: str = "samplernn"
    dim: int = 96  # SampleRNN: GRU and MLP width
    channels: int = 32  # WaveNet: residual channels
    skip_channels: int = 64  # WaveNet: skip and output channels
    stacks: int = 2  # WaveNet: dilation stacks 1, 2, ..., 2**(layers_per_stack - 1)
    layers_per_stack: int = 8
    levels: int = 256
    quantization: str = "mu-law"
    embedding_dim: int = 64
    window: int = 1024  # target samples per training window (a multiple of 16)
    window_hop: int = 512
    held_out_notes: tuple[int, ...] = ()  # whole notes kept out of training
    condition_features: int = CONDITION_FEATURES  # 0: an unconditioned WaveNet
    period_taps: bool = False  # SampleRNN: read the samples one pitch period back
    sample_rate: int = 16000  # what the pitch period is counted in


def build_voice_network(config: VoiceModelConfig) -> nn.Module:
    if config.arch == "wavenet":
        return WaveNet(channels=config.channels, skip_channels=config.skip_channels,
                       stacks=config.stacks, layers_per_stack=config.layers_per_stack,
                       levels=config.levels, condition_features=config.condition_features,
                       quantization=config.quantization)
    if config.arch != "samplernn":
        raise ValueError(f"unknown voice architecture {config.arch!r} (use one of "
                         f"{', '.join(ARCHITECTURES)})")
    return SampleRNN(dim=config.dim, levels=config.levels,
                     embedding_dim=config.embedding_dim, quantization=config.quantization,
                     period_taps=config.period_taps, sample_rate=config.sample_rate)


def context_samples(model: nn.Module) -> int:
    """Samples of history a training window needs before its first target."""
    if isinstance(model, WaveNet):
        return model.receptive_field
    return cast(SampleRNN, model).context


def playback_held_offset(model: nn.Module) -> float:
    """The held offset a voice is played back with unless told otherwise (SampleRNN only)."""
    return DEFAULT_HELD_OFFSET if isinstance(model, SampleRNN) else 0.0


def streaming_generator(model: nn.Module, batch: int = 1, temperature: float = 1.0,
                        seed: int = 0, held_offset: float = 0.0,
                        ) -> VoiceGenerator | CachedWaveNetGenerator:
    """The torch reference generator of either architecture (previews, tests)."""
    if isinstance(model, WaveNet):
        if held_offset:
            raise ValueError("the held offset is for SampleRNN voices; this one is a WaveNet")
        return CachedWaveNetGenerator(model, batch, temperature, seed)
    return VoiceGenerator(cast(SampleRNN, model), batch, temperature, seed, held_offset)


def scripted_bank(model: nn.Module, voices: int, held_offset: float = 0.0) -> nn.Module:
    """The scriptable streaming bank exported in a voice file (``held_offset``: SampleRNN)."""
    from training.voice.export import ScriptedVoice
    from training.voice.scripted_wavenet import ScriptedWaveNetVoice

    if isinstance(model, WaveNet):
        if held_offset:
            raise ValueError("the held offset is for SampleRNN voices; this one is a WaveNet")
        return ScriptedWaveNetVoice(model.eval(), voices)
    return ScriptedVoice(cast(SampleRNN, model.eval()), voices, held_offset)


def architecture_of(model: nn.Module) -> str:
    return "wavenet" if isinstance(model, WaveNet) else "samplernn"

