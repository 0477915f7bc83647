"""Voice generation speed: real-time factor (audio seconds per compute second) at 16 kHz on
one core, for the naive per-sample torch loop, the scripted bank in the model file, the numpy
bank, and the numba-compiled bank the synth uses, all on the same weights in the same run:
the shipped voice's by default, or an untrained network of a given width (``--dim``), whose
flat distributions are the sampler's worst case. The compiled bank is timed again with the
file's level averaging (or ``--level-averaging``) when there is one.

    python -m tests.benchmarks.voice_speed --seconds 1 --out voice_speed.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from synth.contract.model_file import read_metadata, read_voice_model
from synth.contract.torchscript import module_weights, torchscript_warnings_silenced
from synth.shipped import DEFAULT_VOICE
from synth.voicebank.samplernn import FastVoiceBank
from training.voice.export import ScriptedVoice
from training.voice.samplernn import SampleRNN
from training.voice.samplernn_generation import VoiceGenerator

RATE = 16000


def _condition(voices: int, samples: int) -> np.ndarray:
    condition = np.zeros((voices, samples, 3), np.float32)
    condition[:, :, 0] = -1.5  # F2, in octaves from C4
    condition[:, :, 1] = 0.8
    condition[:, :, 2] = np.linspace(1.0, 0.0, samples)
    return condition


REPEATS = 3


def _timed(action: object, samples: int) -> float:
    """Median real-time factor over REPEATS runs (these machines are noisy)."""
    factors = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        factors.append(samples / RATE / (time.perf_counter() - started))
    return float(np.median(factors))


def voice_file_network(path: Path) -> SampleRNN:
    """The SampleRNN inside an exported voice file (its GRU cells back into GRUs)."""
    config = read_metadata(path)["model_config"]
    model = SampleRNN(dim=config["dim"], levels=config["levels"],
                      embedding_dim=config["embedding_dim"],
                      quantization=config["quantization"],
                      period_taps=config.get("period_taps", False),
                      sample_rate=config.get("sample_rate", RATE))
    weights = {}
    for name, value in torch.jit.load(str(path)).state_dict().items():
        tier, _, rest = name.partition("_cell.")
        weights[f"{tier}_rnn.{rest}_l0" if rest else name] = value
    # strict=False for the file's extra buffers (its generation state); nothing may be missing
    missing = model.load_state_dict(weights, strict=False).missing_keys
    if missing:
        raise ValueError(f"{path}: no weights for {', '.join(missing)}")
    return model.eval()


def measure(voice: Path | None, dim: int, seconds: float, level_averaging: int = 0) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = voice_file_network(voice) if voice else SampleRNN(dim=dim).eval()
    results: dict = {"weights": str(voice) if voice else f"untrained, width {dim}",
                     "seconds_generated": seconds, "threads": 1, "repeats": REPEATS,
                     "statistic": "median", "level_averaging": level_averaging}
    for voices in (1, 4):
        samples = int(seconds * RATE)
        condition = _condition(voices, samples)
        naive = VoiceGenerator(model, batch=voices)
        # The naive loop is slow: time a quarter of the block and scale the rate.
        quarter = samples // 4
        naive_rtf = _timed(lambda v=naive, q=quarter, c=condition: v.generate(
            torch.from_numpy(c[:, :q])), quarter)
        with torchscript_warnings_silenced():
            scripted = torch.jit.script(ScriptedVoice(model, voices))
        scripted_rtf = _timed(lambda s=scripted, c=condition: s.generate(
            torch.from_numpy(c), 1.0), samples)
        fast = FastVoiceBank(module_weights(scripted), voices, compiled=False)
        fast_rtf = _timed(lambda f=fast, c=condition: f.generate(c), samples)
        compiled = FastVoiceBank(module_weights(scripted), voices)
        compiled.generate(condition[:, :1])  # compile (or load numba's cache) first
        compiled_rtf = _timed(lambda f=compiled, c=condition: f.generate(c), samples)
        averaged_rtf = None
        if level_averaging:
            averaged = FastVoiceBank(module_weights(scripted), voices,
                                     level_averaging=level_averaging)
            averaged.generate(condition[:, :1])
            averaged_rtf = round(_timed(lambda f=averaged, c=condition: f.generate(c),
                                        samples), 3)
        results[f"{voices}_voices"] = {
            "naive_torch_rtf_per_voice": round(naive_rtf, 3),
            "scripted_rtf_per_voice": round(scripted_rtf, 3),
            "fast_numpy_rtf_per_voice": round(fast_rtf, 3),
            "compiled_rtf_per_voice": round(compiled_rtf, 3),
            "compiled_level_averaged_rtf_per_voice": averaged_rtf,  # None: no averaging
            "compiled_over_naive": round(compiled_rtf / naive_rtf, 1),
            "compiled_over_numpy": round(compiled_rtf / fast_rtf, 2),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", type=Path, default=Path(DEFAULT_VOICE))
    parser.add_argument("--dim", type=int, default=None,
                        help="an untrained network of this width instead of --voice")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--level-averaging", type=int,
                        help="classes averaged either side (default: the voice file's; 0 for "
                             "an untrained network)")
    parser.add_argument("--out", type=Path, default=Path("voice_speed.json"))
    args = parser.parse_args(argv)
    voice = None if args.dim else args.voice
    averaging = args.level_averaging
    if averaging is None:
        averaging = read_voice_model(voice).level_averaging if voice else 0
    results = measure(voice, args.dim or 0, args.seconds, averaging)
    text = json.dumps(results, indent=1)
    print(text)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
