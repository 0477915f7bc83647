"""WaveNet voice generation speed: real-time factor (audio seconds per compute second) at
16 kHz on one core, for the naive generator that recomputes the receptive field every
sample, the torch generator with per-layer activation queues, the scripted bank in the model
file, the numpy bank, and the numba-compiled bank the synth uses; next to the bank the synth
uses for a SampleRNN voice of the same width (untrained), all in the same run.

    python -m tests.benchmarks.wavenet_speed --seconds 1 --out wavenet_speed.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from synth.contract.torchscript import module_weights, torchscript_warnings_silenced
from synth.voicebank.samplernn import FastVoiceBank
from synth.voicebank.wavenet import FastWaveNetBank
from tests.benchmarks.voice_speed import RATE, REPEATS, _condition, _timed
from training.voice.export import ScriptedVoice
from training.voice.networks import VoiceModelConfig, build_voice_network
from training.voice.samplernn import SampleRNN
from training.voice.scripted_wavenet import ScriptedWaveNetVoice
from training.voice.wavenet_generation import CachedWaveNetGenerator, NaiveWaveNetGenerator

NAIVE_SAMPLES = 160  # the recompute is slow: time this many samples and scale


def measure(config: VoiceModelConfig, seconds: float) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    wavenet = build_voice_network(config).eval()
    samplernn = SampleRNN(dim=config.dim).eval()
    results: dict = {
        "wavenet": {"channels": config.channels, "skip_channels": config.skip_channels,
                    "stacks": config.stacks, "layers_per_stack": config.layers_per_stack,
                    "receptive_field": wavenet.receptive_field},
        "samplernn_dim": config.dim, "seconds_generated": seconds, "threads": 1,
        "repeats": REPEATS, "statistic": "median", "machine": platform.processor() or
        platform.machine(), "cpus": os.cpu_count()}
    samples = int(seconds * RATE)
    quarter = samples // 4  # the torch generators are slow: time a quarter and scale
    for voices in (1, 4):
        condition = _condition(voices, samples)
        torch_condition = torch.from_numpy(condition)
        naive = NaiveWaveNetGenerator(wavenet, batch=voices)
        naive_rtf = _timed(lambda g=naive, c=torch_condition: g.generate(c[:, :NAIVE_SAMPLES]),
                           NAIVE_SAMPLES)
        cached = CachedWaveNetGenerator(wavenet, batch=voices)
        cached_rtf = _timed(lambda g=cached, c=torch_condition, q=quarter: g.generate(c[:, :q]),
                            quarter)
        with torchscript_warnings_silenced():
            scripted = torch.jit.script(ScriptedWaveNetVoice(wavenet, voices))
            scripted_samplernn = torch.jit.script(ScriptedVoice(samplernn, voices))
        scripted_rtf = _timed(lambda s=scripted, c=torch_condition, q=quarter: s.generate(
            c[:, :q], 1.0), quarter)
        fast = FastWaveNetBank(module_weights(scripted), voices, compiled=False)
        fast_rtf = _timed(lambda f=fast, c=condition: f.generate(c), samples)
        compiled = FastWaveNetBank(module_weights(scripted), voices)
        compiled.generate(condition[:, :1])  # compile (or load numba's cache) first
        compiled_rtf = (_timed(lambda f=compiled, c=condition: f.generate(c), samples)
                        if compiled.compiled else float("nan"))
        samplernn_bank = FastVoiceBank(module_weights(scripted_samplernn), voices)
        samplernn_rtf = _timed(lambda f=samplernn_bank, c=condition: f.generate(c), samples)
        results[f"{voices}_voices"] = {
            "wavenet_naive_recompute_rtf": round(naive_rtf, 4),
            "wavenet_cached_torch_rtf": round(cached_rtf, 3),
            "wavenet_scripted_rtf": round(scripted_rtf, 3),
            "wavenet_fast_numpy_rtf": round(fast_rtf, 3),
            "wavenet_cached_over_naive": round(cached_rtf / naive_rtf, 1),
            "wavenet_fast_over_naive": round(fast_rtf / naive_rtf, 1),
            "wavenet_compiled_rtf": round(compiled_rtf, 3),
            "wavenet_compiled_over_naive": round(compiled_rtf / naive_rtf, 1),
            "samplernn_synth_rtf": round(samplernn_rtf, 3),
            "samplernn_over_wavenet_compiled": round(samplernn_rtf / compiled_rtf, 1),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    defaults = VoiceModelConfig(arch="wavenet")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=defaults.channels)
    parser.add_argument("--skip-channels", type=int, default=defaults.skip_channels)
    parser.add_argument("--stacks", type=int, default=defaults.stacks)
    parser.add_argument("--layers-per-stack", type=int, default=defaults.layers_per_stack)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("wavenet_speed.json"))
    args = parser.parse_args(argv)
    config = VoiceModelConfig(arch="wavenet", channels=args.channels,
                              skip_channels=args.skip_channels, stacks=args.stacks,
                              layers_per_stack=args.layers_per_stack)
    text = json.dumps(measure(config, args.seconds), indent=1)
    print(text)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
