import logging

import numpy as np
import pytest
import soundfile

from tests.audio_fixtures import (
    copy_real_recordings,
    tone,
    write_bad_files,
    write_generated_files,
)
from training.cli import train_main
from training.grains.dataset import (
    DatasetError,
    GrainDataset,
    GrainDatasetConfig,
    build_grain_dataset,
    split_by_file,
)


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    write_generated_files(folder)
    copy_real_recordings(folder)
    return folder


def test_every_format_rate_and_channel_count_is_read(audio_folder):
    dataset = build_grain_dataset(audio_folder, GrainDatasetConfig(test_fraction=0.3))
    assert sorted(dataset.file_names) == sorted(
        ["mono_16k.wav", "stereo_44k.flac", "sub/quad_48k.aiff", "low_8k.ogg",
         "ambi_glass_hum.flac", "bass_hit_c.flac", "drum_cymbal_open.flac"])
    assert dataset.train_grains.shape[1] == 512
    assert dataset.train_grains.dtype == np.float32
    assert np.isfinite(dataset.train_grains).all()
    # 1.2 s of stereo at 44.1 kHz becomes 1.2 s at 16 kHz: hop 256 gives ~73 grain positions.
    stereo_id = dataset.file_names.index("stereo_44k.flac")
    count = np.sum(np.concatenate([dataset.train_file_ids, dataset.test_file_ids]) == stereo_id)
    assert 60 <= count <= (int(1.2 * 16000) - 512) // 256 + 1


def test_split_is_by_file_and_never_leaks(audio_folder):
    dataset = build_grain_dataset(audio_folder, GrainDatasetConfig(test_fraction=0.3))
    assert set(dataset.train_files).isdisjoint(dataset.test_files)
    assert set(np.unique(dataset.train_file_ids)) <= set(dataset.train_files)
    assert set(np.unique(dataset.test_file_ids)) == set(dataset.test_files)
    train_rows = {row.tobytes() for row in dataset.train_grains}
    assert not any(row.tobytes() in train_rows for row in dataset.test_grains)
    assert len(dataset.test_signals) == len(dataset.test_files)


def test_same_seed_same_dataset_other_seed_other_split(audio_folder):
    first = build_grain_dataset(audio_folder, GrainDatasetConfig(seed=3, test_fraction=0.3))
    again = build_grain_dataset(audio_folder, GrainDatasetConfig(seed=3, test_fraction=0.3))
    assert first.fingerprint() == again.fingerprint()
    splits = {tuple(split_by_file(7, 0.3, seed)[1]) for seed in range(10)}
    assert len(splits) > 1


def test_split_keeps_a_file_on_each_side():
    assert split_by_file(2, 0.9, 0) in (([0], [1]), ([1], [0]))
    train, test = split_by_file(10, 0.2, 0)
    assert len(test) == 2 and len(train) == 8


def test_save_and_load_round_trip(audio_folder, tmp_path):
    dataset = build_grain_dataset(audio_folder, GrainDatasetConfig(test_fraction=0.3))
    dataset.save(tmp_path / "dataset.npz")
    loaded = GrainDataset.load(tmp_path / "dataset.npz")
    assert loaded.fingerprint() == dataset.fingerprint()
    pairs = zip(loaded.test_signals, dataset.test_signals, strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert loaded.config == dataset.config


def test_bad_files_are_skipped_and_each_named_once(audio_folder, tmp_path, caplog):
    folder = tmp_path / "mixed"
    write_generated_files(folder)
    reasons = write_bad_files(folder)
    with caplog.at_level(logging.WARNING):
        dataset = build_grain_dataset(folder, GrainDatasetConfig())
    assert dataset.skipped == reasons
    for name in reasons:
        assert sum(name in record.getMessage() for record in caplog.records) == 1


def test_grains_touching_non_finite_samples_are_dropped(tmp_path, caplog):
    write_generated_files(tmp_path)
    signal = tone(1.0, 16000, 300.0)
    signal[8000:8010] = np.nan
    signal[12000] = np.inf
    soundfile.write(tmp_path / "nan.wav", signal, 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING):
        dataset = build_grain_dataset(tmp_path, GrainDatasetConfig(test_fraction=0.01))
    assert "nan.wav" in dataset.file_names
    assert np.isfinite(dataset.train_grains).all()
    assert any("non-finite" in record.getMessage() for record in caplog.records)
    nan_id = dataset.file_names.index("nan.wav")
    kept = np.sum(np.concatenate([dataset.train_file_ids, dataset.test_file_ids]) == nan_id)
    all_positions = (16000 - 512) // 256 + 1
    assert kept < all_positions


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: None, "no such folder"),
        (lambda root: root.mkdir(), "no audio files"),
        (lambda root: write_bad_files(root), "no usable audio"),
    ],
    ids=["missing", "empty", "nothing-decodable"],
)
def test_unusable_folder_is_one_line_and_exit_code_2(tmp_path, capsys, setup, message):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DatasetError, match=message):
        build_grain_dataset(root, GrainDatasetConfig())
    code = train_main(["grains", "--data", str(root), "--run-dir", str(tmp_path / "run")])
    error_lines = [line for line in capsys.readouterr().err.splitlines()
                   if line.startswith("deepnote-train: error:")]
    assert code == 2
    assert len(error_lines) == 1 and message in error_lines[0]


def test_single_usable_file_cannot_be_split(tmp_path):
    soundfile.write(tmp_path / "only.wav", tone(1.0, 16000, 200.0), 16000)
    with pytest.raises(DatasetError, match="only one usable file"):
        build_grain_dataset(tmp_path, GrainDatasetConfig())
