"""``deepnote-eval``: a run's held-out figures next to the PCA baseline, as JSON and PNG."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from synth.files import atomic_write_text
from training.core.plots import plot_comparison
from training.grains.evaluation import evaluate_codec, vae_codec
from training.grains.pca import PCACodec
from training.grains.run import load_trained_run


def evaluate_run(run_dir: Path, out_dir: Path) -> dict:
    """Evaluate the run's last checkpoint and a PCA fitted on the same training grains."""
    run = load_trained_run(run_dir)
    config, dataset, state, vae = run.config, run.dataset, run.state, run.vae
    started = time.perf_counter()
    latent_dim = vae.latent_dim
    pca = PCACodec(latent_dim).fit(dataset.train_grains)
    name = f"vae-{config['model']['preset']}"
    report = {
        "run": str(run_dir),
        "training_steps": int(state["step"]),
        "training_seconds": round(state["history"]["seconds"], 1),
        "training_grains_per_second": round(
            state["history"]["examples"] / max(state["history"]["seconds"], 1e-9), 1),
        "test_files": [dataset.file_names[i] for i in dataset.test_files],
        "test_grains": len(dataset.test_grains),
        "models": {
            name: evaluate_codec(vae_codec(vae, torch.device("cpu")), dataset),
            f"pca-{latent_dim}": evaluate_codec(pca.reconstruct, dataset),
        },
    }
    report["evaluation_seconds"] = round(time.perf_counter() - started, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1)
    atomic_write_text(out_dir / "report.json", text)
    plot_comparison(report, out_dir / "comparison.png")
    return report
