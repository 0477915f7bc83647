"""Presets: the whole control state as a small JSON file of OSC messages.

A preset is replayed through the same validation as messages from the network, and only
if every message in it is valid; a corrupt or foreign file is refused with the reason and
changes nothing. Files are written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from synth.control.addresses import (
    ADDRESS_BY_PATH,
    NAME_PATTERN,
    InvalidArguments,
    validate_message,
)
from synth.files import atomic_write_text

PRESET_FORMAT = 1
# Restoring a preset must not save, load or ask for state.


class PresetError(ValueError):
    """A preset that cannot be saved or loaded; the message says why."""


def default_preset_directory() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "deepnote" / "presets"


class PresetStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        if not NAME_PATTERN.fullmatch(name):
            raise PresetError(f"{name!r} is not a preset name (letters, digits, _ . -)")
        return self.directory / f"{name}.json"

    def save(self, name: str, messages: list[tuple[str, tuple]]) -> Path:
        target = self.path(name)
        text = json.dumps({"deepnote_preset": PRESET_FORMAT,
                           "messages": [[address, list(values)] for address, values in messages]},
                          indent=1)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, text)
        except OSError as error:
            raise PresetError(f"cannot save preset {name}: {error.strerror or error}") from error
        return target

    def load(self, name: str) -> list[tuple[str, tuple]]:
        """The preset's messages, every one validated; PresetError names the first problem."""
        path = self.path(name)
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise PresetError(f"no preset {name} in {self.directory}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PresetError(f"preset {name} is unreadable ({error})") from error
        if not isinstance(document, dict) or document.get("deepnote_preset") != PRESET_FORMAT:
            raise PresetError(f"preset {name} is not a deepnote preset (format "
                              f"{PRESET_FORMAT})")
        entries = document.get("messages")
        if not isinstance(entries, list):
            raise PresetError(f"preset {name} has no message list")
        messages = []
        for number, entry in enumerate(entries, start=1):
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                    and isinstance(entry[1], list)):
                raise PresetError(f"preset {name}: entry {number} is not [address, [values]]")
            address, arguments = entry
            known = ADDRESS_BY_PATH.get(address)
            if known is not None and not known.in_presets:
                raise PresetError(f"preset {name}: entry {number} ({address}) has no place in "
                                  "a preset")
            try:
                messages.append((address, validate_message(address, arguments)))
            except InvalidArguments as error:
                raise PresetError(f"preset {name}: entry {number} {address}: {error}") from error
        return messages
