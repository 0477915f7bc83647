"""Argument types that check their range where the command line is parsed.

A value out of range stops the command with argparse's one line,
``deepnote-<cmd>: error: argument --buffer: 1000000 is outside 16..8192``, and exit code 2,
before anything is started or written.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn, TypeVar

Number = TypeVar("Number", int, float)


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in ``low..high`` (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        return _within(value, low, high, text)

    return parse


def number(low: float, high: float | None = None, *,
           low_open: bool = False) -> Callable[[str], float]:
    """A finite float in ``low..high`` (above ``low`` when ``low_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if low_open and value <= low:
            raise argparse.ArgumentTypeError(f"{text} must be more than {low:g}")
        return _within(value, low, high, text)

    return parse


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _within(value: Number, low: float, high: float | None, text: str) -> Number:
    if value < low or (high is not None and value > high):
        span = f"{_show(low)}..{_show(high)}" if high is not None else f"at least {_show(low)}"
        raise argparse.ArgumentTypeError(f"{text} is outside {span}")
    return value


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"
