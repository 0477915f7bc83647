"""How long an exported grain model takes to decode, on one core: as the decoding worker
runs it (numpy, for a file that carries its decoder's weights) and, beside it in the same
run, through TorchScript (what nn~ and older files use); one grain, and a 64-grain path (the
default /trajectory/grains).

    python -m tests.benchmarks.grain_decode [--model models/grains.pt] [--trials 200]

Prints the median and 99th percentile and writes them to --out (JSON).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the synth starts its workers
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from synth.grains.decode_worker import open_grain_decoder, torchscript_grain_decoder
from synth.shipped import DEFAULT_MODEL


def time_decode(decode: Callable[[np.ndarray], object], grains: int,
                trials: int) -> dict[str, float]:
    latents = np.random.default_rng(0).standard_normal((grains, 16)).astype(np.float32)
    for _ in range(5):  # warm up (TorchScript's profiler specialises on the first calls)
        decode(latents)
    seconds = []
    for _ in range(trials):
        started = time.perf_counter()
        decode(latents)
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
    decoders = {"worker": open_grain_decoder(str(args.model)),
                "torchscript": torchscript_grain_decoder(str(args.model))}
    figures = [{"decoder": name, **time_decode(decode, grains, args.trials)}
               for grains in (1, 64) for name, decode in decoders.items()]
    for row in figures:
        print(f"{row['decoder']:>11}, {row['grains']:2d} grains: median {row['median_ms']:.2f} "
              f"ms, p99 {row['p99_ms']:.2f} ms (one thread)")
    args.out.write_text(json.dumps({"model": str(args.model), "figures": figures}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
