"""Finding and decoding audio files: any format soundfile or librosa reads, mixed to mono."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import librosa
import numpy as np
import soundfile

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".mp3", ".opus"}
)


class AudioDecodeError(Exception):
    """A file that looks like audio but cannot be decoded."""


def find_audio_files(root: Path) -> list[Path]:
    """Every file under ``root`` with an audio extension, sorted for determinism."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS
    )


def load_mono(path: Path, sample_rate: int) -> np.ndarray:
    """Decode ``path``, mix all channels to mono and resample to ``sample_rate`` (float32).

    Non-finite samples are kept as NaN so the caller can drop the grains that touch them.
    """
    try:
        data, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        data, file_rate = _load_with_librosa(path)
    if data.size == 0:
        return np.zeros(0, dtype=np.float32)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    mono = np.where(np.isfinite(mono), mono, np.nan).astype(np.float32)
    if file_rate != sample_rate:
        mono = _resample_keeping_nan(mono, int(file_rate), sample_rate)
    return mono


def _load_with_librosa(path: Path) -> tuple[np.ndarray, int]:
    try:
        with warnings.catch_warnings():
            # librosa warns before falling back to audioread; the failure itself is reported.
            warnings.simplefilter("ignore")
            signal, rate = librosa.load(str(path), sr=None, mono=False)
    except Exception as error:  # librosa/audioread raise many unrelated types
        raise AudioDecodeError(f"{path}: cannot decode ({type(error).__name__})") from error
    signal = np.asarray(signal, dtype=np.float32)
    return (signal.T if signal.ndim == 2 else signal[:, None]), int(rate)


def _resample_keeping_nan(signal: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    bad = ~np.isfinite(signal)
    clean = np.where(bad, 0.0, signal).astype(np.float32)
    resampled = librosa.resample(clean, orig_sr=source_rate, target_sr=target_rate)
    if bad.any():
        # Mark every output sample whose source neighbourhood held a non-finite value.
        positions = np.flatnonzero(bad) * (target_rate / source_rate)
        marks = np.unique(np.clip(np.round(positions).astype(int), 0, len(resampled) - 1))
        resampled[marks] = np.nan
    return resampled.astype(np.float32)
