"""``python -m synth`` and the ``deepnote-synth`` command."""

import sys


def run() -> None:
    """A Ctrl-C while the modules load (before ``main`` can answer it) ends with one line."""
    try:
        from synth.cli import main
    except KeyboardInterrupt:
        print("deepnote-synth: interrupted while starting", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
