import os
import signal

import pytest

from synth.interrupts import interrupts_deferred


def _swallowing_what_pyo_swallows() -> bool:
    """A Ctrl-C inside a bare except (pyo's import around ``import wx``); True at the end."""
    with interrupts_deferred():
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:
            pass
        return True


@pytest.fixture
def python_handlers():
    """Python's own SIGINT/SIGTERM handlers, whatever earlier code in this process set."""
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for number, handler in before.items():
        signal.signal(number, handler)


def test_a_ctrl_c_swallowed_inside_is_raised_again_on_the_way_out(python_handlers):
    with pytest.raises(KeyboardInterrupt):
        _swallowing_what_pyo_swallows()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nothing_happens_without_a_signal(python_handlers):
    with interrupts_deferred():
        value = 1
    assert value == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
