"""Figures written during training and evaluation (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from synth.files import atomic_output


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
    """Bars: each model's held-out metrics per grain and on whole files, how many quiet frames
    keep their level, and (when the report has them) whole files of the "other" folder."""
    models = list(report["models"])
    panels = [("held-out grains: LSD dB", "models", "grain", "lsd_db"),
              ("held-out files: LSD dB", "models", "file", "lsd_db"),
              ("held-out grains: spectral conv.", "models", "grain", "spectral_convergence"),
              ("held-out files: spectral conv.", "models", "file", "spectral_convergence"),
              ("quiet frames within 6 dB (higher is better)", "models", "quiet_frames",
               "within_6_db")]
    if "other" in report:
        panels += [("other audio, files: LSD dB", "other", "file", "lsd_db"),
                   ("other audio, files: spectral conv.", "other", "file",
                    "spectral_convergence")]
    figure, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.8))
    for axis, (title, section, scope, metric) in zip(axes, panels, strict=True):
        scores = report[section] if section == "models" else report[section]["models"]
        values = [scores[name][scope][metric] for name in models]
        bars = axis.bar(models, values, color=[f"C{i}" for i in range(len(models))])
        axis.bar_label(bars, fmt="%.3g", fontsize=8)
        axis.set_title(title, fontsize=8)
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
    figure.suptitle("reconstruction beside PCA (lower is better unless marked)")
    _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    with atomic_output(path) as partial:
        figure.savefig(partial, dpi=110)
    plt.close(figure)


def plot_voice_report(takes_by_path: dict[str, list[dict]], clips: dict[str, np.ndarray],
                      rate: int, path: Path) -> None:
    """Per note: harmonicity and pitch error of the voice (synth and bank) and the reference;
    below, the spectrogram of one note played by the synth beside the reference's."""
    figure = plt.figure(figsize=(11, 8))
    grid = figure.add_gridspec(3, 2, height_ratios=(1, 1, 1.3))
    harmonicity = figure.add_subplot(grid[0, :])
    cents = figure.add_subplot(grid[1, :], sharex=harmonicity)
    styles = {"synth": ("C0", "o"), "bank": ("C1", "."), "reference": ("k", "x")}
    for name, takes in takes_by_path.items():
        colour, marker = styles.get(name, ("C2", "+"))
        pitches = [t["pitch"] for t in takes]
        harmonicity.scatter(pitches, [t["harmonicity_db"] for t in takes], color=colour,
                            marker=marker, s=20, label=name)
        cents.scatter(pitches, np.clip([t["cents"] for t in takes], -1200, 1200),
                      color=colour, marker=marker, s=20)
    harmonicity.set_ylabel("harmonics vs between (dB)")
    harmonicity.legend(loc="lower left", fontsize=8)
    harmonicity.set_title("held notes: voice through the synth and the bank, and the reference")
    for limit in (-50, 50):
        cents.axhline(limit, color="0.5", linestyle="--", linewidth=0.8)
    cents.set_ylabel("median f0 error (cents)")
    cents.set_xlabel("MIDI note")
    for column, name in enumerate(("synth", "reference")):
        axis = figure.add_subplot(grid[2, column])
        clip = clips.get(name)
        if clip is None or not np.any(clip):
            axis.set_axis_off()
            continue
        floor = 1e-7 * np.random.default_rng(0).standard_normal(len(clip))  # no log of 0
        axis.specgram(clip + floor, NFFT=1024, Fs=rate, noverlap=768, cmap="magma",
                      vmin=-140)
        axis.set_ylim(0, 4000)
        axis.set_title(f"{name}: the middle note")
        axis.set_xlabel("seconds")
        axis.set_ylabel("Hz")
    _save(figure, path)
