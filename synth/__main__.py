"""``python -m synth`` and the ``deepnote-synth`` command."""

import faulthandler
import signal
import sys


def run() -> None:
    """A Ctrl-C while the modules load (before ``main`` can answer it) ends with one line.
    SIGUSR1 prints every thread's stack (for a synth that seems stuck) and plays on."""
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    from synth.interrupts import interrupts_deferred

    try:
        with interrupts_deferred():  # a library's bare except must not lose a Ctrl-C
            from synth.cli import main
    except KeyboardInterrupt:
        print("deepnote-synth: interrupted while starting", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()
