"""``python -m synth`` and the ``deepnote-synth`` command."""

import faulthandler
import signal
import sys


def run() -> None:
    """From the first line, Ctrl-C and SIGTERM only raise a flag (no KeyboardInterrupt that a
    library's bare except could eat while the modules load, and a SIGINT that the shell that
    started us ignored is honoured from here on). SIGUSR1 prints every thread's stack (for a
    synth that seems stuck) and plays on."""
    from synth.interrupts import StopFlag

    stop = StopFlag()
    stop.install()
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    from synth.cli import main

    if stop.raised:
        print("deepnote-synth: interrupted while starting", file=sys.stderr)
        sys.exit(130)
    sys.exit(main(stop=stop))


if __name__ == "__main__":
    run()
