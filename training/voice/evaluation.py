"""``deepnote-eval voice MODEL``: does the voice play the notes it is asked for?

Every semitone from the lowest to the highest trained note is generated the way the synth
plays it live: the key is held for ``hold`` seconds (counter at its cap), then released (the
counter counts down to zero). ``librosa.pyin`` measures f0 over the held part; the report
gives the error in cents, the voiced fraction, and where the sound really ends against the
requested end, separately for trained notes and for the semitones between them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import librosa
import numpy as np

from synth.contract.model_file import KIND_VOICE, read_metadata, validate_metadata
from synth.contract.torchscript import load_torchscript
from synth.voicebank.open import open_voice_bank
from training.core.checkpoint import atomic_write_bytes
from training.core.plots import plot_pitch_report
from training.voice.dataset import amplitude_envelope, sounding_end

PITCH_TOLERANCE_CENTS = 50.0
ATTACK_SKIP_SECONDS = 0.15
LEVEL_SEGMENT_SECONDS = 0.1
FADE_DB = 12.0  # a held note that loses this much has fallen into its release


def note_condition(pitch: float, velocity: float, hold: int, cap: int, tail: int) -> np.ndarray:
    """Conditioning [samples, 3] of a key held ``hold`` samples, then released."""
    remaining = np.concatenate([np.full(hold, cap), np.arange(cap, 0, -1), np.zeros(tail)])
    condition = np.zeros((len(remaining), 3), np.float32)
    condition[:, 0] = (pitch - 60.0) / 12.0
    condition[:, 1] = np.where(remaining > 0, velocity, 0.0)
    condition[:, 2] = remaining / cap
    return condition


def measure_note(audio: np.ndarray, pitch: int, rate: int, hold: int,
                 requested_end: int) -> dict[str, Any]:
    held = audio[int(ATTACK_SKIP_SECONDS * rate):hold]
    f0, voiced, _ = librosa.pyin(held, fmin=librosa.midi_to_hz(pitch - 12),
                                 fmax=librosa.midi_to_hz(pitch + 12), sr=rate,
                                 frame_length=2048, resolution=0.01)  # 1-cent steps
    voiced_fraction = float(np.mean(voiced)) if len(voiced) else 0.0
    median_f0 = float(np.nanmedian(f0)) if np.any(voiced) else float("nan")
    cents = 1200.0 * np.log2(median_f0 / librosa.midi_to_hz(pitch)) if np.any(voiced) else \
        float("nan")
    envelope = amplitude_envelope(audio, rate)
    end = sounding_end(envelope, 0, len(audio), rate)
    return {"pitch": pitch, "median_f0_hz": median_f0, "cents": float(cents),
            "voiced_fraction": voiced_fraction,
            "end_error_seconds": (end - requested_end) / rate,
            "rms_db": float(_decibels(np.mean(held**2))),
            "held_drop_db": held_level_drop(held, rate)}


def held_level_drop(held: np.ndarray, rate: int) -> float:
    """dB between the loudest and the quietest 0.1 s of the held part of a take.

    pyin still finds the pitch of a note that has fallen 20 dB into its release, so pitch
    figures alone miss a voice that cannot hold a note.
    """
    width = int(LEVEL_SEGMENT_SECONDS * rate)
    segments = held[:len(held) // width * width].reshape(-1, width)
    if not len(segments):
        return 0.0
    levels = _decibels(np.mean(segments**2, axis=1))
    return float(levels.max() - levels.min())


def _decibels(power: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.asarray(power) + 1e-24)


def evaluate_voice(model_path: Path, out_dir: Path, hold_seconds: float = 1.0,
                   seed: int = 0, takes: int = 8) -> dict[str, Any]:
    metadata = read_metadata(model_path)
    validate_metadata(metadata, source=str(model_path), expected_kind=KIND_VOICE)
    rate, cap = metadata["sample_rate"], metadata["counter_cap"]
    trained = sorted(metadata["trained_notes"])
    # Each note several times (independent voices of one batch): one take of a sampled
    # voice says little about a note.
    pitches = [p for p in range(trained[0], trained[-1] + 1) for _ in range(takes)]
    bank = open_voice_bank(load_torchscript(model_path), metadata, voices=len(pitches),
                           seed=seed)
    hold, tail = int(hold_seconds * rate), rate // 2
    condition = np.stack([note_condition(p, 0.8, hold, cap, tail) for p in pitches])
    audio = bank.generate(condition)
    notes = [{**measure_note(audio[i], p, rate, hold, hold + cap), "trained": p in trained}
             for i, p in enumerate(pitches)]
    report = {"model": str(model_path), "hold_seconds": hold_seconds, "takes": takes,
              "release_seconds": cap / rate, "notes": notes,
              "trained": _summary([n for n in notes if n["trained"]]),
              "between_trained": _summary([n for n in notes if not n["trained"]])}
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1)
    atomic_write_bytes(out_dir / "voice_report.json", lambda file: file.write(text.encode()))
    plot_pitch_report(notes, out_dir / "voice_report.png")
    return report


def _summary(notes: list[dict[str, Any]]) -> dict[str, Any]:
    if not notes:
        return {"notes": 0}
    cents = np.array([abs(n["cents"]) for n in notes])
    within = np.nan_to_num(cents, nan=np.inf) <= PITCH_TOLERANCE_CENTS
    return {
        "notes": len(notes),
        "within_50_cents": float(np.mean(within)),
        "median_abs_cents": float(np.nanmedian(cents)) if np.any(np.isfinite(cents)) else None,
        "median_voiced_fraction": float(np.median([n["voiced_fraction"] for n in notes])),
        # A take that never really starts (the model stays near silence) is a dead note.
        "mostly_unvoiced_takes": float(np.mean([n["voiced_fraction"] < 0.5 for n in notes])),
        "median_held_rms_db": float(np.median([n["rms_db"] for n in notes])),
        "takes_that_fade_while_held": float(np.mean([n["held_drop_db"] > FADE_DB
                                                      for n in notes])),
        "median_end_error_seconds": float(np.median([n["end_error_seconds"] for n in notes])),
    }
