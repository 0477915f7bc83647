"""The OSC address table: the one definition the listener, the controller, presets,
``--osc-help``, the README and the Pd/Max patch tests read. Each address validates its own
arguments and names the controller method that plays it, so a new address is one entry here
(and, for a new kind of effect, one ``Controller`` method)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from synth.contract.model_file import TIMBRE_AXES

LATENT_DIM = 16  # what the table promises; the runtime checks the model agrees


class InvalidArguments(ValueError):
    """Arguments that do not fit an address; the message names the problem."""


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Field:
    name: str
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    text: bool = False  # a preset name: letters, digits, '_', '.', '-'
    unit: str = ""  # what OSCQuery reports as the argument's UNIT
    choices: tuple[str, ...] = ()  # for text: the only values accepted (else a name)
    logarithmic: bool = False  # a knob on it moves by ratios (pitch, durations, rates)


class Coalescing(Enum):
    """Which waiting messages a new one replaces, when the listener forwards a batch."""

    LATEST = "latest"  # a control: only its newest value matters
    PER_INDEX = "per index"  # the newest value for each first argument (/latent/dim i)
    EVERY_EVENT = "every event"  # notes and the like: each one counts, in order
    EVERY_REQUEST = "every request"  # each distinct request counts (duplicates aside)


@dataclass(frozen=True)
class Address:
    """An address, the arguments it takes, how it is coalesced, whether presets hold it and
    what plays it: ``handler`` names a ``Controller`` method taking ``(address, values)``;
    ``control`` names the granulator control it sets, for the ``set_grain_control`` handler;
    ``sets_source`` marks the addresses that choose what the granulator plays (the one a
    preset replays).

    ``fields`` is the group of arguments; it repeats between ``min_groups`` and
    ``max_groups`` times (1 and 1 for a fixed list). The last ``optional`` fields of a
    single group may be left out.
    """

    path: str
    fields: tuple[Field, ...]
    effect: str
    handler: str
    min_groups: int = 1
    max_groups: int = 1
    optional: int = 0
    coalescing: Coalescing = Coalescing.LATEST
    in_presets: bool = True
    control: str = ""
    sets_source: bool = False

    @property
    def argument_counts(self) -> tuple[int, int]:
        """Fewest and most arguments accepted."""
        group = len(self.fields)
        if self.max_groups == 1:
            return group - self.optional, group
        return self.min_groups * group, self.max_groups * group

    def accepts_count(self, count: int) -> bool:
        low, high = self.argument_counts
        if self.max_groups == 1:
            return low <= count <= high
        return count % len(self.fields) == 0 and low <= count <= high

    def describe_arguments(self) -> str:
        if not self.fields:
            return "none"
        names = " ".join(f.name for f in self.fields)
        if self.max_groups == 1:
            if self.optional:
                required = " ".join(f.name for f in self.fields[: -self.optional])
                extra = " ".join(f.name for f in self.fields[-self.optional :])
                return f"{required} [{extra}]"
            return names
        if self.min_groups == self.max_groups:
            return f"{self.min_groups} x ({names})" if len(self.fields) > 1 else \
                f"{self.min_groups} {names}"
        return f"k x ({names}), k = {self.min_groups}..{self.max_groups}"

    def describe_ranges(self) -> str:
        seen: dict[str, str] = {}
        for field in self.fields:
            if field.choices:
                seen.setdefault(field.name, f"{field.name}: a learnable address (below)")
                continue
            if field.text:
                seen.setdefault(field.name, f"{field.name}: letters, digits, _ . - (64 max)")
                continue
            kind = "int" if field.integer else "float"
            span = f"{_fmt(field.low)}..{_fmt(field.high)}"
            seen.setdefault(field.name, f"{field.name}: {kind} {span}")
        return "; ".join(seen.values())

    def validate(self, arguments: tuple | list) -> tuple:
        """Return the arguments as numbers, or raise InvalidArguments saying what is wrong."""
        count = len(arguments)
        if not self.accepts_count(count):
            low, high = self.argument_counts
            expected = str(low) if low == high else f"{low}..{high}"
            if self.max_groups > 1 and len(self.fields) > 1:
                expected += f" in groups of {len(self.fields)}"
            raise InvalidArguments(f"expected {expected} arguments, got {count}")
        values = []
        for index, value in enumerate(arguments):
            field = self.fields[index % len(self.fields)]
            values.append(_check_value(field, value, index))
        return tuple(values)


def _check_value(field: Field, value: object, index: int) -> float | str:
    if field.choices:
        if value not in field.choices:
            raise InvalidArguments(f"argument {index + 1} ({field.name}) must be one of "
                                   + ", ".join(field.choices))
        return str(value)
    if field.text:
        if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
            raise InvalidArguments(f"argument {index + 1} ({field.name}) must be a name of "
                                   "letters, digits, '_', '.' or '-' (64 at most)")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArguments(
            f"argument {index + 1} ({field.name}) must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidArguments(f"argument {index + 1} ({field.name}) is not finite")
    if field.integer and value != int(value):
        raise InvalidArguments(f"argument {index + 1} ({field.name}) must be a whole number")
    if not field.low <= value <= field.high:
        raise InvalidArguments(
            f"argument {index + 1} ({field.name}) = {value:g} is outside "
            f"{_fmt(field.low)}..{_fmt(field.high)}")
    return int(value) if field.integer else float(value)


def _fmt(number: float) -> str:
    return f"{number:g}"


_QUANTILE = Field("q", 0.0, 1.0, unit="quantile")
TIMBRE_MEANINGS = tuple(zip(TIMBRE_AXES, ("brighter or darker", "noisier or purer",
                                          "more or less pitched"), strict=True))
_RAW = Field("z", -20.0, 20.0)

_SOUND_ADDRESSES: tuple[Address, ...] = (
    Address("/latent", (_QUANTILE,), "latent point; each value a quantile of the training "
            "latents along that dimension (0.5 = typical)", "play_quantiles",
            min_groups=LATENT_DIM, max_groups=LATENT_DIM, sets_source=True),
    Address("/latent/z", (_RAW,), "latent point in raw coordinates", "play_raw",
            min_groups=LATENT_DIM, max_groups=LATENT_DIM, sets_source=True),
    Address("/latent/dim", (Field("i", 0, LATENT_DIM - 1, integer=True), _QUANTILE),
            "move one dimension of the point playing (to a quantile), keeping the others",
            "move_dimension", coalescing=Coalescing.PER_INDEX),
    Address("/xy", (Field("x", 0.0, 1.0), Field("y", 0.0, 1.0)),
            "point on the plane of the first two principal axes of the training latents "
            "(0..1 spans their 1st..99th percentiles)", "play_xy", sets_source=True),
    Address("/trajectory/line", (_RAW,), "the prototype's path: a straight line from -z to "
            "+z through the origin", "play_line", min_groups=LATENT_DIM,
            max_groups=LATENT_DIM, sets_source=True),
    Address("/trajectory/points", (_QUANTILE,), "smooth path through k latent points "
            "(quantiles, like /latent); 16 values per point", "play_points_path",
            min_groups=2 * LATENT_DIM, max_groups=64 * LATENT_DIM, sets_source=True),
    Address("/trajectory/xy", (Field("x", 0.0, 1.0), Field("y", 0.0, 1.0)),
            "smooth path through k points of the /xy plane (what a drawn path sends)",
            "play_xy_path", min_groups=2, max_groups=256, sets_source=True),
    Address("/trajectory/grains", (Field("n", 2, 512, integer=True),),
            "grains rendered along a path (default 64); re-renders the current path",
            "set_path_grains"),
    Address("/scan/speed", (Field("speed", -4.0, 4.0, unit="x path rate"),),
            "playback speed along a rendered path: 1 = the path's own duration, "
            "0 = frozen (use /grain/pos), negative = backwards", "set_grain_control",
            control="scan_speed"),
    Address("/grain/pos", (Field("pos", 0.0, 1.0),), "read position in the grain table "
            "(offset along the path while scanning)", "set_grain_control", control="pos"),
    Address("/grain/pitch", (Field("ratio", 0.125, 8.0, unit="frequency ratio",
                                   logarithmic=True),),
            "transposition ratio; 1 = the model's own pitch", "set_grain_control", control="pitch"),
    Address("/grain/dur", (Field("seconds", 0.005, 1.0, unit="s", logarithmic=True),),
            "duration of each grain", "set_grain_control", control="dur"),
    Address("/grain/density", (Field("per_second", 1.0, 400.0, unit="grains/s",
                                     logarithmic=True),),
            "grains started per second", "set_grain_control", control="density"),
    Address("/grain/jitter", (Field("amount", 0.0, 1.0),), "random spread of grain "
            "positions (fraction of the table)", "set_grain_control", control="jitter"),
    Address("/volume", (Field("gain", 0.0, 1.0, unit="linear gain"),), "output gain (smoothed)",
            "set_grain_control", control="volume"),
    *(Address(f"/timbre/{name}", (Field("amount", -1.0, 1.0),), f"move the sound along the "
              f"model's {name} axis, {meaning}; 0 = the point or path as set, +-1 = the "
              "axis's full throw (the model file stores the axes; older files have none)",
              "set_timbre") for name, meaning in TIMBRE_MEANINGS),
    Address("/panic", (), "silence now: volume to 0 (send /volume to play again) and every "
            "voice note stopped", "panic", coalescing=Coalescing.EVERY_REQUEST,
            in_presets=False),
    Address("/note", (Field("note", 0, 127, integer=True, unit="MIDI note"),
                      Field("velocity", 0, 127, integer=True)),
            "play a note on the voice (velocity 0 = note off), like a MIDI note-on",
            "play_note", coalescing=Coalescing.EVERY_EVENT),
    Address("/note/sustain", (Field("down", 0, 1, integer=True),),
            "sustain pedal for the voice: 1 = down, 0 = up", "sustain",
            coalescing=Coalescing.EVERY_EVENT),
    Address("/note/all_off", (), "release every voice note (each ends naturally)",
            "release_all_notes", coalescing=Coalescing.EVERY_EVENT),
    Address("/voice/volume", (Field("gain", 0.0, 1.0, unit="linear gain"),),
            "voice output gain (smoothed)", "set_voice_volume"),
    Address("/compose/play", (Field("bars", 0, 64, integer=True, unit="bars"),), "the composer "
            "improvises on the voice (restarting if it was playing); bars = phrase length, "
            "0 or none = until /compose/stop", "compose_play", optional=1,
            coalescing=Coalescing.EVERY_EVENT),
    Address("/compose/stop", (), "stop composing; its notes are released", "compose_stop",
            coalescing=Coalescing.EVERY_EVENT),
    Address("/compose/tempo", (Field("bpm", 20.0, 300.0, unit="bpm"),),
            "composer tempo (default 90)", "compose_setting"),
    Address("/compose/temperature", (Field("temperature", 0.1, 3.0),), "composer "
            "sampling temperature: lower is sparser, higher denser and wilder (default 0.4)",
            "compose_setting"),
    Address("/compose/lines", (Field("lines", 1, 4, integer=True),), "how many of the "
            "composition's highest notes the voice plays at once (default 1: the melody)",
            "compose_setting"),
    Address("/model/grains", (Field("name", text=True),), "switch to another grains model of "
            "the models folder (--models-dir; its file name without .pt), cross-fading; the "
            "point or path playing is played again in the new model's space",
            "switch_grains_model"),
    Address("/model/voice", (Field("name", text=True),), "switch the voice to another voice "
            "model of the models folder, at the next moment no note sounds (loaded "
            "meanwhile, while the old one plays)", "switch_voice_model"),
    Address("/preset/save", (Field("name", text=True),), "store the whole control state "
            "(latent point or path, granulator, volume) under a name", "save_preset",
            coalescing=Coalescing.EVERY_REQUEST, in_presets=False),
    Address("/preset/load", (Field("name", text=True),), "restore a stored state",
            "recall_preset", coalescing=Coalescing.EVERY_REQUEST, in_presets=False),
    Address("/state", (Field("reply_port", 1, 65535, integer=True),), "reply with the "
            "current state as /state/... messages, to the sender's port or reply_port",
            "reply_state", optional=1, coalescing=Coalescing.EVERY_REQUEST, in_presets=False),
)

# What a MIDI controller can move: one number across its range, a latent dimension, a
# coordinate of /xy.
LEARNABLE_PATHS: tuple[str, ...] = tuple(
    a.path for a in _SOUND_ADDRESSES
    if a.path in ("/latent/dim", "/xy") or (
        a.in_presets and a.coalescing is Coalescing.LATEST and len(a.fields) == 1
        and a.max_groups == 1 and not a.fields[0].text))
MIDI_ANY_CHANNEL = 0
_LEARNABLE = Field("address", text=True, choices=LEARNABLE_PATHS)
_INDEX = Field("index", 0, LATENT_DIM - 1, integer=True)
_CONTROL_NUMBER = Field("control", 0, 119, integer=True, unit="MIDI CC")

ADDRESSES: tuple[Address, ...] = (
    *_SOUND_ADDRESSES,
    Address("/midi/learn", (_LEARNABLE, _INDEX), "bind the next MIDI controller (CC) moved "
            "to a control: its whole travel spans the address's range; index = the "
            "dimension of /latent/dim or the axis of /xy (0 = x, 1 = y)", "midi_learn",
            optional=1, coalescing=Coalescing.EVERY_REQUEST, in_presets=False),
    Address("/midi/bind", (Field("channel", 0, 16, integer=True, unit="MIDI channel"),
                           _CONTROL_NUMBER, _LEARNABLE, _INDEX),
            "bind a CC to a control, as /midi/learn would (channel 1..16, 0 = any); "
            "presets keep the map this way", "midi_bind", optional=1,
            coalescing=Coalescing.EVERY_EVENT),
    Address("/midi/forget", (_LEARNABLE,), "drop the MIDI bindings of an address, or all of "
            "them", "midi_forget", optional=1, coalescing=Coalescing.EVERY_EVENT),
    Address("/midi/cc", (_CONTROL_NUMBER, Field("value", 0, 127, integer=True),
                         Field("channel", 1, 16, integer=True, unit="MIDI channel")),
            "a control change as if from a MIDI controller (scores, OSC-only rigs); "
            "channel defaults to 1", "midi_control_change", optional=1,
            coalescing=Coalescing.EVERY_EVENT, in_presets=False),
)

ADDRESS_BY_PATH: dict[str, Address] = {address.path: address for address in ADDRESSES}
GRAIN_CONTROLS: tuple[Address, ...] = tuple(a for a in ADDRESSES if a.control)


def validate_message(path: str, arguments: tuple | list) -> tuple:
    """Validate one message; InvalidArguments for bad arguments or an unknown address."""
    address = ADDRESS_BY_PATH.get(path)
    if address is None:
        raise InvalidArguments("unknown address")
    return address.validate(arguments)


def address_table_markdown() -> str:
    """The table as Markdown (the README carries a copy; a test keeps them equal)."""
    lines = ["| address | arguments | ranges | effect |", "|---|---|---|---|"]
    for address in ADDRESSES:
        lines.append(f"| `{address.path}` | {address.describe_arguments()} | "
                     f"{address.describe_ranges() or '-'} | {address.effect} |")
    return "\n".join(lines)


def address_table_text() -> str:
    """The table for ``deepnote-synth --osc-help``."""
    width = max(len(a.path) for a in ADDRESSES)
    rows = []
    for address in ADDRESSES:
        rows.append(f"{address.path:<{width}}  {address.describe_arguments()}")
        rows.append(f"{'':<{width}}    {address.effect}")
        if address.fields:
            rows.append(f"{'':<{width}}    {address.describe_ranges()}")
    return "\n".join(rows)
