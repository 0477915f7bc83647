"""One atomic write for every output: nothing existing is destroyed."""

import os
import stat
from pathlib import Path

import pytest

from synth.files import OutputError, atomic_output, atomic_write_text


def test_a_write_replaces_the_file_only_when_complete(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("before")
    def write_half_and_fail() -> None:
        with atomic_output(target) as partial:
            partial.write_text("half")
            raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError):
        write_half_and_fail()
    assert target.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    atomic_write_text(target, "after")
    assert target.read_text() == "after"


def test_the_temporary_file_keeps_the_suffix_and_the_usual_permissions(tmp_path):
    with atomic_output(tmp_path / "render.flac") as partial:
        assert partial.suffix == ".flac" and partial.parent == tmp_path
        partial.write_bytes(b"x")
    mode = stat.S_IMODE((tmp_path / "render.flac").stat().st_mode)
    assert mode == 0o666 & ~_umask()


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_devices_and_directories_are_refused_and_left_alone(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write /dev/null: it is not a regular file"):
        atomic_write_text(Path("/dev/null"), "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(OutputError, match=r"it is a directory"):
        atomic_write_text(folder, "x")
    assert folder.is_dir() and not any(folder.iterdir())


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(OutputError, match=r"no folder .*missing"):
        with atomic_output(tmp_path / "missing" / "out.wav"):
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
