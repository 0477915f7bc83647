"""Figures written during training and evaluation (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_loss_curve(history: dict, path: Path, eval_key: str) -> None:
    """Training loss per step (with a running mean) and held-out ``eval_key`` per evaluation."""
    figure, axis = plt.subplots(figsize=(8, 4.5))
    steps = np.array([row["step"] for row in history["train"]])
    losses = np.array([row["loss"] for row in history["train"]])
    if len(losses):
        axis.plot(steps, losses, color="0.8", linewidth=0.6, label="train loss (step)")
        width = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(width) / width, mode="valid")
        axis.plot(steps[width - 1:], smooth, color="C0", label=f"train loss (mean of {width})")
    if history["eval"]:
        axis.plot([row["step"] for row in history["eval"]],
                  [row[eval_key] for row in history["eval"]],
                  "o-", color="C3", label=f"held-out {eval_key}")
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.legend()
    axis.grid(alpha=0.3)
    _save(figure, path)


def plot_latent_map(
    points: np.ndarray, file_ids: np.ndarray, file_names: list[str], path: Path
) -> None:
    """Scatter of 2-D projected latents, one colour per source file."""
    figure, axis = plt.subplots(figsize=(7.5, 6))
    colours = plt.get_cmap("tab20")
    for order, file_id in enumerate(np.unique(file_ids)):
        chosen = file_ids == file_id
        axis.scatter(points[chosen, 0], points[chosen, 1], s=4, alpha=0.6,
                     color=colours(order % 20), label=Path(file_names[file_id]).stem)
    axis.set_xlabel("latent principal axis 1")
    axis.set_ylabel("latent principal axis 2")
    axis.set_title("held-out grains in latent space, by source file")
    if len(np.unique(file_ids)) <= 24:
        axis.legend(fontsize=7, markerscale=3, loc="best")
    _save(figure, path)


def plot_comparison(report: dict, path: Path) -> None:
    """Bars: each model's held-out metrics, per grain and on whole files."""
    models = list(report["models"])
    panels = [("grain", "lsd_db"), ("file", "lsd_db"),
              ("grain", "spectral_convergence"), ("file", "spectral_convergence")]
    figure, axes = plt.subplots(1, len(panels), figsize=(13, 3.8))
    for axis, (scope, metric) in zip(axes, panels, strict=True):
        values = [report["models"][name][scope][metric] for name in models]
        bars = axis.bar(models, values, color=[f"C{i}" for i in range(len(models))])
        axis.bar_label(bars, fmt="%.3g", fontsize=8)
        axis.set_title(f"{metric} ({scope})", fontsize=9)
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    figure.suptitle("held-out reconstruction (lower is better)")
    _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    figure.savefig(tmp, dpi=110)
    tmp.replace(path)
    plt.close(figure)


def plot_pitch_report(notes: list[dict], path: Path) -> None:
    """Cents error and voiced fraction of every generated take (trained notes in blue)."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    pitches = [n["pitch"] for n in notes]
    colours = ["C0" if n["trained"] else "C1" for n in notes]
    top.scatter(pitches, [n["cents"] for n in notes], color=colours, s=18)
    for limit in (-50, 50):
        top.axhline(limit, color="0.5", linestyle="--", linewidth=0.8)
    top.set_ylabel("f0 error (cents)")
    top.set_title("generated notes: trained (blue) and between trained notes (orange)")
    bottom.scatter(pitches, [n["voiced_fraction"] for n in notes], color=colours, s=18)
    bottom.set_ylabel("voiced fraction")
    bottom.set_xlabel("MIDI note")
    bottom.set_ylim(0, 1)
    _save(figure, path)
