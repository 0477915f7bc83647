"""``deepnote-eval``: a run's held-out figures next to the PCA baseline, as JSON and PNG."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from synth.files import atomic_write_text
from training.core.audio_files import AudioDecodeError, find_audio_files, load_mono
from training.core.plots import plot_comparison
from training.grains.dataset import DatasetError
from training.grains.evaluation import evaluate_codec, evaluate_files, vae_codec
from training.grains.pca import PCACodec
from training.grains.run import load_trained_run

log = logging.getLogger("deepnote")


def evaluate_run(run_dir: Path, out_dir: Path, other: Path | None = None) -> dict:
    """Evaluate the run's last checkpoint and a PCA fitted on the same training grains, on
    the held-out files and (``other``) on a folder of audio unlike the training data."""
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
    if other is not None:
        signals = _other_signals(other, dataset.config.sample_rate)
        grain_size = dataset.config.grain_size
        report["other"] = {"folder": str(other), "files": len(signals), "models": {
            name: evaluate_files(vae_codec(vae, torch.device("cpu")), signals, grain_size),
            f"pca-{latent_dim}": evaluate_files(pca.reconstruct, signals, grain_size)}}
    report["ratios_to_pca"] = _ratios(report, name, f"pca-{latent_dim}")
    report["evaluation_seconds"] = round(time.perf_counter() - started, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1)
    atomic_write_text(out_dir / "report.json", text)
    plot_comparison(report, out_dir / "comparison.png")
    return report


def _ratios(report: dict, model: str, baseline: str) -> dict[str, float]:
    """The model's log-spectral distance over PCA's (below 1: the model is better)."""
    sections = [("held_out", report["models"])]
    if "other" in report:
        sections.append(("other", report["other"]["models"]))
    return {f"{label}_{scope}_lsd": round(scores[model][scope]["lsd_db"]
                                          / scores[baseline][scope]["lsd_db"], 3)
            for label, scores in sections for scope in ("grain", "file") if scope in scores[model]}


def _other_signals(folder: Path, sample_rate: int) -> list[np.ndarray]:
    """Every readable audio file of ``folder`` at the model's rate; unreadable ones are named
    and skipped."""
    signals = []
    for path in find_audio_files(folder):
        try:
            signal = np.nan_to_num(load_mono(path, sample_rate))
        except AudioDecodeError as error:
            log.warning("skipped %s: %s", path, error)
            continue
        if len(signal):
            signals.append(signal)
    if not signals:
        raise DatasetError(f"{folder}: no audio file to evaluate on (--other)")
    return signals
