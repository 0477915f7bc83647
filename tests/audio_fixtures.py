"""Builders for small audio folders: generated signals in awkward formats, real recordings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import soundfile

SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")
REAL_RECORDINGS = ("ambi_glass_hum.flac", "bass_hit_c.flac", "drum_cymbal_open.flac")


def tone(seconds: float, rate: int, frequency: float, seed: int = 0) -> np.ndarray:
    """A decaying harmonic tone with a little noise, like a plucked note."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    partials = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in range(1, 6))
    envelope = np.exp(-2.0 * t)
    return (0.5 * partials * envelope + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_generated_files(folder: Path) -> list[str]:
    """Mono/stereo/multichannel files at several rates and formats; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    soundfile.write(folder / "mono_16k.wav", tone(1.0, 16000, 220.0, 1), 16000)
    stereo = np.stack([tone(1.2, 44100, 330.0, 2), tone(1.2, 44100, 440.0, 3)], axis=1)
    soundfile.write(folder / "stereo_44k.flac", stereo, 44100)
    quad = np.stack([tone(0.8, 48000, 110.0 * (c + 1), c) for c in range(4)], axis=1)
    (folder / "sub").mkdir(exist_ok=True)
    soundfile.write(folder / "sub" / "quad_48k.aiff", quad, 48000)
    soundfile.write(folder / "low_8k.ogg", tone(1.0, 8000, 150.0, 4), 8000)
    return ["mono_16k.wav", "stereo_44k.flac", "sub/quad_48k.aiff", "low_8k.ogg"]


def copy_real_recordings(folder: Path) -> list[str]:
    """Copy a few Debian sonic-pi-samples recordings (installed by .ci/run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in REAL_RECORDINGS:
        shutil.copy(SONIC_PI_SAMPLES / name, folder / name)
    return list(REAL_RECORDINGS)


def write_bad_files(folder: Path) -> dict[str, str]:
    """Files the dataset must skip, with the reason it should give."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 3)
    (folder / "truncated.flac").write_bytes(_flac_bytes(tone(1.0, 16000, 200.0))[:300])
    soundfile.write(folder / "too_short.wav", tone(0.01, 16000, 200.0), 16000)
    soundfile.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    return {
        "corrupt.wav": "cannot be decoded",
        "truncated.flac": "cannot be decoded",
        "too_short.wav": "shorter than one grain",
        "silent.wav": "silent",
    }


def _flac_bytes(signal: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="FLAC")
    return buffer.getvalue()
