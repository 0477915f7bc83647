"""The audio process's Python threads on SCHED_FIFO 1: below pyo's JACK thread, above every
ordinary process, and never passed on to the workers it starts."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth.shipped import DEFAULT_MODEL
from tests.benchmarks.memory import family
from tests.jack_harness import JackServer, SynthProcess, free_udp_port, tools_missing

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import os, threading
from synth.control_priority import raise_control_priority

def policy(tid):
    kind = os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK
    return kind, os.sched_getparam(tid).sched_priority

release = threading.Event()
before = threading.Thread(target=release.wait)
before.start()
refused = raise_control_priority()
after = threading.Thread(target=release.wait)
after.start()
print(refused, policy(0), policy(before.native_id), policy(after.native_id))
release.set()
"""


def _probe(*prefix: str) -> str:
    return subprocess.run([*prefix, sys.executable, "-c", PROBE], capture_output=True,
                          text=True, cwd=REPO, timeout=60, check=True).stdout.strip()


def _permitted() -> bool:
    return _probe().startswith("None")


needs_realtime = pytest.mark.skipif(not _permitted(),
                                    reason="this machine does not permit SCHED_FIFO")


FIFO_1, ORDINARY = (os.SCHED_FIFO, 1), (os.SCHED_OTHER, 0)


@needs_realtime
def test_the_threads_alive_go_to_fifo_1_and_later_ones_stay_ordinary():
    assert _probe() == f"None {FIFO_1} {FIFO_1} {ORDINARY}"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to take the permission away")
def test_a_system_that_refuses_says_why_and_leaves_the_thread_as_it_was():
    printed = _probe("setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice")
    assert printed == "real-time scheduling not permitted (Operation not permitted) " \
                      f"{ORDINARY} {ORDINARY} {ORDINARY}"


def _policy(pid: int) -> tuple[int, int]:
    policy = os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK
    return policy, os.sched_getparam(pid).sched_priority


def _thread_priorities(pid: int) -> dict[int, tuple[int, int]]:
    return {int(tid): _policy(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@needs_realtime
@pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")
def test_synth_control_thread_is_below_jack_and_its_workers_are_ordinary():
    jack = JackServer()
    synth = SynthProcess(jack, DEFAULT_MODEL, free_udp_port(), "-v")
    try:
        synth.wait_for("Python threads at SCHED_FIFO 1", 120)
        pid = synth.process.pid
        assert _policy(pid) == FIFO_1
        threads = _thread_priorities(pid).values()
        # the Python threads (the control loop, the queues' feeders, OSCQuery's server) at 1,
        # and pyo's JACK thread above them
        assert sum(policy == FIFO_1 for policy in threads) >= 3
        assert max(priority for _, priority in threads) > 1
        workers = [member for member in family(pid) if member != pid]
        assert len(workers) >= 2
        assert {_policy(worker) for worker in workers} == {ORDINARY}
        decoder = next(int(line.split("decoder pid")[1].split(",")[0])
                       for line in synth.lines if "decoder pid" in line)
        os.kill(decoder, signal.SIGKILL)
        synth.wait_for("restarting it")
        deadline = time.monotonic() + 20
        while not (restarted := set(family(pid)) - set(workers) - {pid}):
            assert time.monotonic() < deadline, "no worker was restarted"
            time.sleep(0.1)
        assert restarted and {_policy(worker) for worker in restarted} == {ORDINARY}
        assert synth.interrupt() == 0
    finally:
        synth.kill()
        jack.stop()


@pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")
def test_normal_priority_leaves_the_control_thread_ordinary():
    jack = JackServer()
    synth = SynthProcess(jack, DEFAULT_MODEL, free_udp_port(), "--normal-priority", "-v")
    try:
        synth.wait_for("OSCQuery on", 120)
        time.sleep(0.5)
        assert _policy(synth.process.pid) == ORDINARY
        assert not any("Python threads at" in line for line in synth.lines)
        assert synth.interrupt() == 0
    finally:
        synth.kill()
        jack.stop()
