"""Writing an output file so that nothing is lost: the one way every command writes files.

The new content goes to a temporary file beside the target, which is renamed over the target
only once it is complete, so a failed or interrupted write leaves the previous file as it was.
A symbolic link is written through (its target is replaced, the link stays), and anything
that is not a regular file (a directory, a device such as /dev/null, a pipe) is refused.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


class OutputError(OSError):
    """An output path that cannot be written without destroying something; one line."""


@dataclass(frozen=True)
class AudioFormat:
    """How a render is written (soundfile's names), chosen by the output's extension."""

    format: str
    subtype: str


AUDIO_FORMATS = {".wav": AudioFormat("WAV", "FLOAT"), ".aif": AudioFormat("AIFF", "FLOAT"),
                 ".aiff": AudioFormat("AIFF", "FLOAT"), ".flac": AudioFormat("FLAC", "PCM_24")}


def audio_format(path: Path) -> AudioFormat:
    """The format ``path``'s extension asks for; OutputError for one this cannot write."""
    try:
        return AUDIO_FORMATS[path.suffix.lower()]
    except KeyError:
        raise OutputError(f"cannot write {path}: audio is written as "
                          f"{', '.join(sorted(AUDIO_FORMATS))} (by the extension)") from None


def replaceable_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or what a link points to."""
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror}") from error
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputError(f"cannot write {path}: it is {kind}, and it is left as it is")
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {path}: no folder {target.parent}")
    return target


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, so writers that go by the suffix pick
    the right format); renamed over ``path`` when the block ends, removed if it raises."""
    target = replaceable_target(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                                        dir=target.parent)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror}") from error
    os.close(handle)
    temporary = Path(name)
    try:
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp's 0600 is not what users expect
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, writer: Callable[[BinaryIO], object],
                       check: Callable[[Path], None] | None = None) -> None:
    """Call ``writer(file)`` on a temporary file beside ``path``, then rename it into place.

    ``check(temporary_path)`` may inspect the written file first and raise to refuse it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as file:
            writer(file)
            file.flush()
            os.fsync(file.fileno())
        if check is not None:
            check(temporary)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda file: file.write(text.encode()))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
