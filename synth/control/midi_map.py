"""MIDI controllers on the OSC controls: each binding turns one control change (CC) into the
message of one address, scaled across that address's range.

A binding is learned (``/midi/learn ADDRESS [index]``, then the next CC moved), written in a
map file (``--midi-map``) or restored from a preset, where it is kept as ``/midi/bind``
messages. CCs 0..31 are 14-bit when the controller also sends their LSB (CC + 32): the
MSB alone moves the control at once, its LSB then refines it, as the MIDI specification
has it. Channel-mode messages (CC 120..127) are never bound.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from synth.control.addresses import (
    ADDRESS_BY_PATH,
    MIDI_ANY_CHANNEL,
    InvalidArguments,
    validate_message,
)

log = logging.getLogger("deepnote.controls")

MAP_FORMAT = 1
FIRST_MODE_CONTROL = 120  # 120..127 are channel-mode messages, not controllers
LSB_OFFSET = 32  # CC n (0..31) has its fine part on CC n + 32
FINE_STEPS = 16383  # a 14-bit value's largest


class MidiMapError(ValueError):
    """A map file that cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Binding:
    channel: int  # 1..16; MIDI_ANY_CHANNEL (0) answers every channel
    control: int  # 0..119
    path: str  # a learnable address
    index: int = 0  # the dimension of /latent/dim, the coordinate of /xy (0 = x, 1 = y)

    def answers(self, channel: int, control: int) -> bool:
        return self.control == control and self.channel in (MIDI_ANY_CHANNEL, channel)

    def as_message(self) -> tuple[str, tuple]:
        return "/midi/bind", (self.channel, self.control, self.path, self.index)


def scaled_message(binding: Binding, fraction: float,
                   xy: tuple[float, float]) -> tuple[str, tuple]:
    """The message a binding sends for a controller at ``fraction`` (0..1) of its travel;
    ``xy`` is the /xy point playing, whose other coordinate a binding leaves where it is."""
    if binding.path == "/latent/dim":
        return binding.path, (binding.index, fraction)
    if binding.path == "/xy":
        x, y = xy
        return binding.path, (fraction, y) if binding.index == 0 else (x, fraction)
    field = ADDRESS_BY_PATH[binding.path].fields[0]
    if field.logarithmic:
        value = field.low * (field.high / field.low) ** fraction
    else:
        value = field.low + fraction * (field.high - field.low)
    value = min(max(value, field.low), field.high)  # no rounding past the ends
    return binding.path, (round(value) if field.integer else value,)


class MidiMap:
    """The bindings in force, the one being learned, and each 14-bit control's MSB."""

    def __init__(self) -> None:
        self.bindings: list[Binding] = []
        self.learning: tuple[str, int] | None = None
        self._coarse: dict[tuple[int, int], int] = {}  # (channel, control) -> last MSB
        self._fine: set[tuple[int, int]] = set()  # controls whose LSB has been seen

    def learn(self, path: str, index: int = 0) -> None:
        """Bind the next controller moved to ``path`` (``index``: its dimension or axis)."""
        self.learning = (path, index)

    def bind(self, binding: Binding) -> None:
        """Add a binding; one that listened to the same controller is replaced."""
        self.bindings = [b for b in self.bindings
                         if not (b.control == binding.control and b.channel == binding.channel)]
        self.bindings.append(binding)

    def forget(self, path: str | None = None) -> int:
        """Drop every binding (or those of ``path``); returns how many went."""
        kept = [b for b in self.bindings if path is not None and b.path != path]
        dropped = len(self.bindings) - len(kept)
        self.bindings = kept
        if path is None or (self.learning is not None and self.learning[0] == path):
            self.learning = None
        return dropped

    def messages(self) -> list[tuple[str, tuple]]:
        """The map as the messages that recreate it (what a preset keeps)."""
        return [("/midi/forget", ()), *(binding.as_message() for binding in self.bindings)]

    def control_change(self, channel: int, control: int,
                       value: int) -> list[tuple[Binding, float]]:
        """A CC (channel 1..16): the bindings it moves, each with its controller's travel
        (0..1). While learning, the CC is bound first."""
        if control >= FIRST_MODE_CONTROL:
            return []
        if LSB_OFFSET <= control < 2 * LSB_OFFSET:
            coarse_control = control - LSB_OFFSET
            key = (channel, coarse_control)
            if key in self._coarse:  # the fine part of a 14-bit control seen before
                self._fine.add(key)
                fraction = (self._coarse[key] * 128 + value) / FINE_STEPS
                if self.learning is not None:
                    self._learned(channel, coarse_control)
                return [(b, fraction) for b in self.bindings if b.answers(channel, coarse_control)]
        if self.learning is not None:
            self._learned(channel, control)
        if control < LSB_OFFSET:
            self._coarse[(channel, control)] = value
            # MSB alone: the LSB is zero until it comes
            fraction = (value * 128 / FINE_STEPS if (channel, control) in self._fine
                        else value / 127)
        else:
            fraction = value / 127
        return [(b, fraction) for b in self.bindings if b.answers(channel, control)]

    def _learned(self, channel: int, control: int) -> None:
        assert self.learning is not None
        path, index = self.learning
        self.learning = None
        self.bind(Binding(channel, control, path, index))
        log.info("MIDI learn: CC %d on channel %d now moves %s%s", control, channel, path,
                 f" {index}" if path in ("/latent/dim", "/xy") else "")


def read_midi_map(path: Path) -> list[Binding]:
    """The bindings of a map file: ``{"deepnote_midi_map": 1, "bindings": [{"channel": 1,
    "control": 21, "address": "/grain/dur", "index": 0}, ...]}``; channel 0 = any."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MidiMapError(f"{path}: no such MIDI map") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MidiMapError(f"{path}: not a readable MIDI map ({error})") from error
    if not isinstance(document, dict) or document.get("deepnote_midi_map") != MAP_FORMAT:
        raise MidiMapError(f"{path}: not a deepnote MIDI map (format {MAP_FORMAT})")
    entries = document.get("bindings")
    if not isinstance(entries, list):
        raise MidiMapError(f"{path}: no 'bindings' list")
    bindings = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise MidiMapError(f"{path}: binding {number} is not an object")
        arguments = [entry.get("channel", MIDI_ANY_CHANNEL), entry.get("control"),
                     entry.get("address"), entry.get("index", 0)]
        try:
            channel, control, address, index = validate_message("/midi/bind", arguments)
        except InvalidArguments as error:
            raise MidiMapError(f"{path}: binding {number}: {error}") from error
        bindings.append(Binding(int(channel), int(control), str(address), int(index)))
    return bindings


def write_midi_map(bindings: list[Binding]) -> str:
    """A map file's text for ``bindings``."""
    return json.dumps({"deepnote_midi_map": MAP_FORMAT, "bindings": [
        {"channel": b.channel, "control": b.control, "address": b.path, "index": b.index}
        for b in bindings]}, indent=1)

