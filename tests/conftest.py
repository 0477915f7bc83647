import signal
from pathlib import Path

import pytest

from tests.audio_fixtures import copy_real_recordings, write_generated_files

# The tests play a user at a terminal, where Ctrl-C reaches a program that has just started.
# A CI runner or a shell that starts the suite as a background job ignores SIGINT, and every
# process the tests start would inherit that: a SIGINT sent before a child's first line of
# Python could never be seen (issue 17's lost stops). A handler, unlike an ignore, is reset
# to the default across exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


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


@pytest.fixture(scope="session")
def tiny_grain_model(small_audio_folder, tmp_path_factory) -> Path:
    """A briefly trained, exported grains model (the shipped one is tested separately)."""
    from training.cli import export_main, train_main

    root = tmp_path_factory.mktemp("tiny_model")
    assert train_main(tiny_training_args(small_audio_folder, root / "run")) == 0
    assert export_main([str(root / "run"), "--out", str(root / "grains.pt")]) == 0
    return root / "grains.pt"


@pytest.fixture(scope="session")
def tiny_voice_model(tmp_path_factory) -> Path:
    """A briefly trained, exported voice on two soundfont notes (needs fluidsynth)."""
    import shutil

    from training.cli import export_main, train_main

    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    root = tmp_path_factory.mktemp("tiny_voice")
    assert train_main(["voice-data", "--out", str(root / "notes"), "--notes", "F2,A2",
                       "--durations", "0.8", "--file-seconds", "2", "--lead-silence",
                       "0.5"]) == 0
    assert train_main(["voice", "--data", str(root / "notes"), "--run-dir", str(root / "run"),
                       "--steps", "8", "--batch-size", "4", "--eval-every", "8",
                       "--checkpoint-every", "8", "--dim", "32", "--window", "256",
                       "--threads", "1"]) == 0
    assert export_main([str(root / "run"), "--out", str(root / "voice.pt")]) == 0
    return root / "voice.pt"


@pytest.fixture(scope="session")
def tiny_composer_model(tmp_path_factory) -> Path:
    """A briefly trained, exported composer on six Bach chorales from music21's corpus."""
    from training.cli import export_main, train_main

    root = tmp_path_factory.mktemp("tiny_composer")
    assert train_main(["composer-data", "--out", str(root / "chorales"), "--limit", "6"]) == 0
    assert train_main(["composer", "--data", str(root / "chorales"), "--run-dir",
                       str(root / "run"), "--steps", "30", "--batch-size", "8",
                       "--eval-every", "15", "--checkpoint-every", "15", "--hidden", "32",
                       "--threads", "1"]) == 0
    assert export_main([str(root / "run"), "--out", str(root / "composer.pt")]) == 0
    return root / "composer.pt"
