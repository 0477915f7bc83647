"""Strict checks on raw OSC datagrams before python-osc parses them.

python-osc 1.10 trusts sizes inside a datagram: a bundle element with a negative size loops
forever, and a truncated argument is zero-padded (a cut-off ``/volume`` reads as 0.0). Every
length is checked here first, so python-osc only ever sees well-formed messages. Bundles are
unpacked and their messages applied at once: timetags are ignored, because a controller on
stage means *now*, and a future timetag must never park the listener.
"""

from __future__ import annotations

import struct

from pythonosc.osc_message import OscMessage, ParseError

MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4
MAX_BUNDLE_DEPTH = 4
_BUNDLE_HEADER = b"#bundle\x00"
_FIXED_SIZES = {"i": 4, "f": 4, "c": 4, "r": 4, "m": 4, "d": 8, "h": 8, "t": 8,
                "T": 0, "F": 0, "N": 0, "I": 0}


class MalformedDatagram(ValueError):
    """A datagram that is not well-formed OSC; the message says where it breaks."""


def parse_datagram(datagram: bytes) -> list[tuple[str, tuple]]:
    """All messages in a datagram (bundles flattened) as (address, arguments)."""
    if len(datagram) > MAX_DATAGRAM:
        raise MalformedDatagram(f"datagram of {len(datagram)} bytes is larger than UDP allows")
    messages: list[bytes] = []
    _collect(datagram, messages, depth=0)
    parsed = []
    for raw in messages:
        try:
            message = OscMessage(raw)
        except (ParseError, ValueError, IndexError, struct.error) as error:
            raise MalformedDatagram(f"unparsable message ({error})") from error
        parsed.append((message.address, tuple(message.params)))
    return parsed


def _collect(data: bytes, out: list[bytes], depth: int) -> None:
    if data.startswith(_BUNDLE_HEADER):
        if depth >= MAX_BUNDLE_DEPTH:
            raise MalformedDatagram("bundles nested too deeply")
        position = 16  # header + 8-byte timetag (ignored)
        if len(data) < position:
            raise MalformedDatagram("bundle shorter than its header")
        while position < len(data):
            if position + 4 > len(data):
                raise MalformedDatagram("bundle element size cut off")
            (size,) = struct.unpack(">i", data[position : position + 4])
            position += 4
            if size <= 0 or size % 4 or position + size > len(data):
                raise MalformedDatagram(f"bundle element size {size} does not fit")
            _collect(data[position : position + size], out, depth + 1)
            position += size
        return
    check_message(data)
    out.append(data)


def check_message(data: bytes) -> None:
    """Raise MalformedDatagram unless ``data`` is exactly one complete OSC message."""
    if len(data) % 4:
        raise MalformedDatagram("length is not a multiple of 4")
    if not data.startswith(b"/"):
        raise MalformedDatagram("does not start with an address")
    address, position = _padded_string(data, 0, "address")
    try:
        address.decode("ascii")
    except UnicodeDecodeError as error:
        raise MalformedDatagram("address is not ASCII") from error
    if position == len(data):
        return  # no type tag string: a message without arguments
    tags, position = _padded_string(data, position, "type tags")
    if not tags.startswith(b","):
        raise MalformedDatagram("type tags do not start with ','")
    for tag in tags[1:].decode("ascii", errors="replace"):
        if tag in _FIXED_SIZES:
            position += _FIXED_SIZES[tag]
        elif tag in "sS":
            _, position = _padded_string(data, position, "string argument")
        elif tag == "b":
            if position + 4 > len(data):
                raise MalformedDatagram("blob size cut off")
            (size,) = struct.unpack(">i", data[position : position + 4])
            if size < 0:
                raise MalformedDatagram("negative blob size")
            position += 4 + size + (-size) % 4
        else:
            raise MalformedDatagram(f"unsupported type tag {tag!r}")
        if position > len(data):
            raise MalformedDatagram("arguments cut off")
    if position != len(data):
        raise MalformedDatagram("trailing bytes after the arguments")


def _padded_string(data: bytes, start: int, what: str) -> tuple[bytes, int]:
    end = data.find(b"\x00", start)
    if end < 0:
        raise MalformedDatagram(f"{what} is not terminated")
    return data[start:end], end + 4 - (end - start) % 4
