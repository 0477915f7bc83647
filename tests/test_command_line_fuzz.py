"""Every option of every command that takes a number refuses NaN, infinities and garbage
where the command line is parsed: one line naming the option, exit code 2, nothing run."""

import argparse

import pytest

from synth.arguments import OneLineParser

BAD_NUMBERS = ("nan", "inf", "-inf", "1e999", "twelve", "")


class _Captured(Exception):
    pass


def _parsers(main, argv) -> list[argparse.ArgumentParser]:
    """The parsers ``main(argv)`` builds (and every subcommand's), without running it."""
    captured = []

    def capture(self, args=None, namespace=None):
        captured.append(self)
        raise _Captured

    original = OneLineParser.parse_args
    OneLineParser.parse_args = capture
    try:
        with pytest.raises(_Captured):
            main(argv)
    finally:
        OneLineParser.parse_args = original
    found = []
    for parser in captured:
        found.append(parser)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found.extend(action.choices.values())
    return found


def _commands():
    from synth.cli import main as synth_main
    from synth.compose_cli import main as compose_main
    from training.cli import eval_main, export_main, generate_main, train_main

    return [(synth_main, []), (compose_main, []), (train_main, []), (eval_main, []),
            (eval_main, ["voice"]), (eval_main, ["composer"]), (export_main, []),
            (generate_main, [])]


def _numeric_options(parser):
    for action in parser._actions:
        if action.option_strings and action.type is not None and getattr(
                action.type, "__name__", "") in ("parse", "int", "float"):
            yield action


def _required(parser):
    argv = []
    for action in parser._actions:
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            argv.append("x")
        elif action.required:  # a valid choice where there are choices, else any text
            argv += [action.option_strings[0], str(next(iter(action.choices or ["x"])))]
    return argv


def test_every_numeric_option_refuses_non_numbers_in_one_line(capsys):
    checked = 0
    for main, argv in _commands():
        for parser in _parsers(main, argv):
            for action in _numeric_options(parser):
                option = action.option_strings[-1]
                for value in BAD_NUMBERS:
                    with pytest.raises(SystemExit) as stopped:
                        parser.parse_args([*_required(parser), option, value])
                    lines = capsys.readouterr().err.strip().splitlines()
                    assert stopped.value.code == 2, (parser.prog, option, value)
                    assert len(lines) == 1 and lines[0].startswith(f"{parser.prog}: error: "), \
                        lines
                    assert f"argument {option}" in lines[0], (parser.prog, option, value)
                    checked += 1
    assert checked > 300
