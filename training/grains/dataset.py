"""The grain dataset: audio folder -> mono grains at the model rate, split by file."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from synth.files import atomic_output
from training.core.audio_files import AudioDecodeError, find_audio_files, load_mono
from training.grains.cutting import grain_rms_db, slice_grains

log = logging.getLogger(__name__)


class DatasetError(Exception):
    """Nothing usable could be built; the message is one line for the user."""


@dataclass(frozen=True)
class GrainDatasetConfig:
    sample_rate: int = 16000
    grain_size: int = 512
    hop: int = 256
    silence_db: float = -90.0  # digital silence and dither out; quiet sound stays in
    test_fraction: float = 0.1
    normalize_peak: float | None = 0.9
    seed: int = 0


@dataclass
class GrainDataset:
    config: GrainDatasetConfig
    file_names: list[str]
    train_files: list[int]
    test_files: list[int]
    train_grains: np.ndarray
    train_file_ids: np.ndarray
    test_grains: np.ndarray
    test_file_ids: np.ndarray
    test_signals: list[np.ndarray]
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """What the model was trained on, as stored in the run and the model file."""
        seconds = sum(len(s) for s in self.test_signals) / self.config.sample_rate
        return {
            "files": len(self.file_names),
            "train_files": len(self.train_files),
            "test_files": len(self.test_files),
            "train_grains": len(self.train_grains),
            "test_grains": len(self.test_grains),
            "test_seconds": round(seconds, 2),
            "skipped_files": len(self.skipped),
            "fingerprint": self.fingerprint(),
            **{f"config_{k}": v for k, v in asdict(self.config).items()},
        }

    def fingerprint(self) -> str:
        """A short hash that changes whenever the training grains change."""
        digest = hashlib.sha256()
        digest.update(json.dumps([self.file_names, self.train_files]).encode())
        digest.update(np.ascontiguousarray(self.train_grains).tobytes())
        return digest.hexdigest()[:16]

    def save(self, path: Path) -> None:
        lengths = np.array([len(s) for s in self.test_signals], dtype=np.int64)
        signals = np.concatenate(self.test_signals) if self.test_signals else np.zeros(0)
        header = {
            "config": asdict(self.config),
            "file_names": self.file_names,
            "train_files": self.train_files,
            "test_files": self.test_files,
            "skipped": self.skipped,
        }
        with atomic_output(path) as partial:
            self._write(partial, header, signals, lengths)

    def _write(self, partial: Path, header: dict, signals: np.ndarray,
               lengths: np.ndarray) -> None:
        np.savez(
            partial,
            header=np.array(json.dumps(header)),
            train_grains=self.train_grains,
            train_file_ids=self.train_file_ids,
            test_grains=self.test_grains,
            test_file_ids=self.test_file_ids,
            test_signals=signals.astype(np.float32),
            test_signal_lengths=lengths,
        )

    @classmethod
    def load(cls, path: Path) -> GrainDataset:
        with np.load(path) as archive:
            header = json.loads(str(archive["header"]))
            offsets = np.cumsum(archive["test_signal_lengths"])[:-1]
            return cls(
                config=GrainDatasetConfig(**header["config"]),
                file_names=header["file_names"],
                train_files=header["train_files"],
                test_files=header["test_files"],
                train_grains=archive["train_grains"],
                train_file_ids=archive["train_file_ids"],
                test_grains=archive["test_grains"],
                test_file_ids=archive["test_file_ids"],
                test_signals=list(np.split(archive["test_signals"], offsets)),
                skipped=header["skipped"],
            )


def build_grain_dataset(root: Path, config: GrainDatasetConfig) -> GrainDataset:
    """Read every decodable audio file under ``root`` into train/test grains, split by file."""
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    paths = find_audio_files(root)
    if not paths:
        raise DatasetError(f"{root}: no audio files (looked for wav, flac, aiff, ogg, mp3)")

    names: list[str] = []
    signals: list[np.ndarray] = []
    grains_per_file: list[np.ndarray] = []
    skipped: dict[str, str] = {}
    for path in paths:
        name = str(path.relative_to(root))
        try:
            signal = load_mono(path, config.sample_rate)
        except AudioDecodeError:
            skipped[name] = "cannot be decoded"
            log.warning("skipping %s: cannot be decoded (corrupt or unsupported)", name)
            continue
        reason, signal, grains = _usable_grains(signal, config, name)
        if reason:
            skipped[name] = reason
            log.warning("skipping %s: %s", name, reason)
            continue
        names.append(name)
        signals.append(signal)
        grains_per_file.append(grains)

    if len(names) < 2:
        found = "no usable audio" if not names else f"only one usable file ({names[0]})"
        raise DatasetError(
            f"{root}: {found}; need at least 2 files to split train/test by file"
        )
    train_files, test_files = split_by_file(len(names), config.test_fraction, config.seed)
    train_grains, train_ids = _stack(grains_per_file, train_files, config.grain_size)
    test_grains, test_ids = _stack(grains_per_file, test_files, config.grain_size)
    return GrainDataset(
        config=config,
        file_names=names,
        train_files=train_files,
        test_files=test_files,
        train_grains=train_grains,
        train_file_ids=train_ids,
        test_grains=test_grains,
        test_file_ids=test_ids,
        test_signals=[np.nan_to_num(signals[i], nan=0.0) for i in test_files],
        skipped=skipped,
    )


def split_by_file(file_count: int, test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Deterministically choose test files; at least one file on each side."""
    order = np.random.default_rng(seed).permutation(file_count)
    test_count = min(file_count - 1, max(1, round(test_fraction * file_count)))
    return sorted(order[test_count:].tolist()), sorted(order[:test_count].tolist())


def _usable_grains(
    signal: np.ndarray, config: GrainDatasetConfig, name: str
) -> tuple[str, np.ndarray, np.ndarray]:
    if len(signal) < config.grain_size:
        return "shorter than one grain", signal, np.zeros(0)
    finite = np.isfinite(signal)
    if not finite.any():
        return "no finite samples", signal, np.zeros(0)
    if not finite.all():
        log.warning("%s: %d non-finite samples; grains touching them are dropped",
                    name, int((~finite).sum()))
    peak = float(np.max(np.abs(signal[finite])))
    if peak == 0.0:
        return "silent", signal, np.zeros(0)
    if config.normalize_peak is not None:
        signal = signal * np.float32(config.normalize_peak / peak)
    grains = slice_grains(signal, config.grain_size, config.hop)
    keep = np.isfinite(grains).all(axis=1)
    keep[keep] = grain_rms_db(grains[keep]) > config.silence_db
    if not keep.any():
        return f"no grain above {config.silence_db:g} dBFS", signal, np.zeros(0)
    return "", signal, grains[keep]


def _stack(
    grains_per_file: list[np.ndarray], files: list[int], grain_size: int
) -> tuple[np.ndarray, np.ndarray]:
    if not files:
        return np.zeros((0, grain_size), np.float32), np.zeros(0, np.int64)
    grains = np.concatenate([grains_per_file[i] for i in files]).astype(np.float32)
    ids = np.concatenate([np.full(len(grains_per_file[i]), i, np.int64) for i in files])
    return grains, ids
