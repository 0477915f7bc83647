"""``deepnote-eval composer MODEL --data DIR``: how the composer's phrases compare with the
music it learned from.

Held-out loss and note-start precision/recall come from the model file (measured by training
on the files it never trained on). Here the model composes: from the opening bar of each
held-out file, four bars at several temperatures; the report compares how many notes sound
and start per step, and the pitch span, with the held-out music itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from synth.composer.model import load_composer
from synth.composer.piano_roll import ONSET
from synth.files import atomic_write_text
from training.composer.dataset import build_composer_dataset

TEMPERATURES = (0.3, 0.4, 0.5, 0.7, 1.0)
HELD_OUT_EVERY = 10  # the training split: every 10th file by name


def roll_statistics(rolls: list[np.ndarray]) -> dict[str, float]:
    steps = np.concatenate(rolls)
    sounding = (steps > 0).sum(axis=1)
    return {"sounding_per_step": float(sounding.mean()),
            "starts_per_step": float((steps == ONSET).sum(axis=1).mean()),
            "steps_with_1_to_4_sounding": float(np.mean((sounding >= 1) & (sounding <= 4))),
            "steps_with_more_than_6": float(np.mean(sounding > 6))}


def evaluate_composer(model_path: Path, data: Path, out_dir: Path, bars: int = 4,
                      seed: int = 0) -> dict[str, Any]:
    composer = load_composer(model_path)
    dataset = build_composer_dataset(data, composer.roll_range)
    held_out = [roll for index, roll in enumerate(dataset.rolls)
                if index % HELD_OUT_EVERY == 0]
    bar = composer.steps_per_bar
    openings = [roll[:bar] for roll in held_out if len(roll) >= bar]
    report: dict[str, Any] = {
        "model": str(model_path), "data": str(data), "held_out_files": len(held_out),
        "bars_composed_per_phrase": bars,
        "held_out_evaluation": composer.model.held_out_evaluation,
        "held_out_music": roll_statistics(held_out), "composed": {}}
    for temperature in TEMPERATURES:
        phrases = [composer.compose(opening, bars * bar, temperature, seed + index)
                   for index, opening in enumerate(openings)]
        report["composed"][str(temperature)] = roll_statistics(phrases)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1)
    atomic_write_text(out_dir / "composer-eval.json", text)
    return report

