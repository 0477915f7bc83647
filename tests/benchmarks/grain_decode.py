"""How long an exported grain model takes to decode, on one core, as the decoding worker
runs it: one grain, and a 64-grain path (the default /trajectory/grains).

    python -m tests.benchmarks.grain_decode [--model models/grains.pt] [--trials 200]

Prints the median and 99th percentile and writes them to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from synth.contract.torchscript import load_torchscript
from synth.shipped import DEFAULT_MODEL


def time_decode(model: torch.jit.ScriptModule, grains: int, trials: int) -> dict[str, float]:
    latents = torch.randn(grains, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for _ in range(5):  # warm up the TorchScript profiler's specialisations
            model.decode_grains(latents)
        seconds = []
        for _ in range(trials):
            started = time.perf_counter()
            model.decode_grains(latents)
            seconds.append(time.perf_counter() - started)
    milliseconds = 1000 * np.asarray(seconds)
    return {"grains": grains, "median_ms": float(np.median(milliseconds)),
            "p99_ms": float(np.percentile(milliseconds, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("grain_decode.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_torchscript(args.model)
    figures = [time_decode(model, grains, args.trials) for grains in (1, 64)]
    for row in figures:
        print(f"{row['grains']:3d} grains: median {row['median_ms']:.2f} ms, "
              f"p99 {row['p99_ms']:.2f} ms (one thread)")
    args.out.write_text(json.dumps({"model": str(args.model), "figures": figures}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
