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


def test_a_ctrl_c_swallowed_inside_is_raised_again_on_the_way_out():
    with pytest.raises(KeyboardInterrupt):
        _swallowing_what_pyo_swallows()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nothing_happens_without_a_signal():
    with interrupts_deferred():
        value = 1
    assert value == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
