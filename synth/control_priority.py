"""The audio process's Python threads, raised to the lowest real-time priority.

pyo's JACK callback runs at a real-time priority but takes the GIL for every block. When a
Python thread of the audio process (the control loop, a queue's feeder, the OSCQuery server)
holds the GIL and the scheduler hands its core to an ordinary process (a worker decoding,
the voice generating), the callback waits for a thread that is not running: a priority
inversion, and an xrun. At SCHED_FIFO 1 those threads are no longer put aside for ordinary
processes, and still give way to JACK's threads (pyo's is at 5 or above). They sleep most of
the time, and the kernel's real-time throttling leaves the other processes their share
should one ever spin. A thread or process started afterwards (a restarted worker) gets the
ordinary policy: the kernel resets it for every new task.
"""

from __future__ import annotations

import os
import threading

CONTROL_PRIORITY = 1


def raise_control_priority() -> str | None:
    """Put every Python thread of this process that is alive now on SCHED_FIFO at
    :data:`CONTROL_PRIORITY`. Returns why it could not, or None."""
    if not hasattr(os, "SCHED_FIFO") or not hasattr(os, "SCHED_RESET_ON_FORK"):
        return "this system has no SCHED_FIFO"
    policy, parameters = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(CONTROL_PRIORITY)
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        try:
            os.sched_setscheduler(thread.native_id, policy, parameters)
        except ProcessLookupError:  # it ended meanwhile
            continue
        except OSError as error:
            return f"real-time scheduling not permitted ({error.strerror})"
    return None
