from pathlib import Path

import pytest

from tests.audio_fixtures import copy_real_recordings, write_generated_files


@pytest.fixture(scope="session")
def small_audio_folder(tmp_path_factory) -> Path:
    """Four generated files in awkward formats plus three real recordings."""
    folder = tmp_path_factory.mktemp("small_audio")
    write_generated_files(folder)
    copy_real_recordings(folder)
    return folder


def tiny_training_args(data: Path, run: Path, *extra: str) -> list[str]:
    return ["grains", "--data", str(data), "--run-dir", str(run), "--steps", "12",
            "--batch-size", "16", "--eval-every", "6", "--checkpoint-every", "6",
            "--test-fraction", "0.3", *extra]
