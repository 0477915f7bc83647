"""Timed OSC scores for offline renders.

One event per line: ``SECONDS /address [numbers...]``, e.g. ``1.5 /xy 0.2 0.8``.
``#`` starts a comment; blank lines are skipped. Events play in time order (ties in file
order) and are validated against the address table, like messages from the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from synth.control.addresses import InvalidArguments, validate_message


class ScoreError(ValueError):
    """A score line that cannot be played; the message names the line."""


@dataclass(frozen=True)
class ScoreEvent:
    time: float
    address: str
    values: tuple


def parse_score(text: str, source: str = "score") -> list[ScoreEvent]:
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{source}:{number}"
        if len(words) < 2:
            raise ScoreError(f"{where}: expected 'SECONDS /address [numbers...]'")
        try:
            time = float(words[0])
        except ValueError as error:
            raise ScoreError(f"{where}: {error}") from error
        arguments = [_number_or_name(word) for word in words[2:]]
        if not math.isfinite(time) or time < 0:
            raise ScoreError(f"{where}: time must be a finite number of seconds >= 0")
        try:
            values = validate_message(words[1], arguments)
        except InvalidArguments as error:
            raise ScoreError(f"{where}: {words[1]}: {error}") from error
        events.append(ScoreEvent(time, words[1], values))
    return sorted(events, key=lambda event: event.time)


def read_score(path: Path) -> list[ScoreEvent]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScoreError(f"{path}: {error.strerror}") from error
    except UnicodeDecodeError:
        raise ScoreError(f"{path}: not a text score (expected lines of 'SECONDS /address "
                         "[numbers...]')") from None
    return parse_score(text, source=str(path))


def _number_or_name(word: str) -> float | str:
    try:
        return float(word)
    except ValueError:
        return word  # a preset name; the address table decides whether it belongs
