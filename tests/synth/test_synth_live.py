"""deepnote-synth under a real JACK graph, driven by real Pure Data and oscsend."""

import os
import random
import shutil
import signal
import socket
import subprocess
import time
import warnings

import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.shipped import DEFAULT_VOICE
from tests.jack_harness import (
    CEILING,
    JackServer,
    SynthProcess,
    ask_state,
    free_udp_port,
    record,
    spectral_distance_db,
    tools_missing,
)

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")

FAR_LATENT = " ".join(["0.02 0.98"] * 8)

PD_PATCH = """#N canvas 0 0 600 400 12;
#X obj 20 20 loadbang;
#X obj 20 50 t b b;
#X msg 200 80 connect 127.0.0.1 {port};
#X obj 20 80 delay 300;
#X msg 20 110 {values};
#X obj 20 140 oscformat latent;
#X obj 20 170 list prepend send;
#X obj 20 200 list trim;
#X obj 20 230 netsend -u -b;
#X connect 0 0 1 0;
#X connect 1 1 2 0;
#X connect 2 0 8 0;
#X connect 1 0 3 0;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 5 0 6 0;
#X connect 6 0 7 0;
#X connect 7 0 8 0;
"""


@pytest.fixture
def jack():
    server = JackServer()
    yield server
    server.stop()


@pytest.fixture
def shipped_model():
    from synth.shipped import DEFAULT_MODEL

    return DEFAULT_MODEL


def start(jack, model):
    port = free_udp_port()
    synth = SynthProcess(jack, model, port)
    synth.wait_for("playing")
    assert "deepnote:output_1" in jack.ports()
    return synth, port


def oscsend(port: int, address: str, types: str, *values) -> None:
    subprocess.run(["oscsend", "localhost", str(port), address, types,
                    *[str(v) for v in values]], check=True, timeout=10)


def check_output(audio: np.ndarray) -> None:
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= CEILING
    assert np.sqrt(np.mean(audio**2)) > 1e-3, "the synth is silent"


@pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data is not installed")
def test_pd_and_oscsend_change_what_jack_plays(jack, shipped_model, tmp_path):
    synth, port = start(jack, shipped_model)
    try:
        before = record(jack, 1.5, tmp_path / "before.wav")
        again = record(jack, 1.5, tmp_path / "again.wav")
        patch = tmp_path / "send_latent.pd"
        patch.write_text(PD_PATCH.format(port=port, values=FAR_LATENT))
        pd = subprocess.run(["timeout", "3", "pd", "-nogui", "-noaudio", "-nomidi", "-open",
                             str(patch)], capture_output=True, text=True)
        assert "error" not in pd.stderr.lower(), pd.stderr
        time.sleep(0.5)
        after_pd = record(jack, 1.5, tmp_path / "after_pd.wav")
        oscsend(port, "/trajectory/xy", "ffffffff", 0, 0, 1, 1, 0, 1, 1, 0)
        oscsend(port, "/scan/speed", "f", 0.5)
        time.sleep(0.8)
        after_path = record(jack, 1.5, tmp_path / "after_path.wav")
    finally:
        code = synth.interrupt()
    assert code == 0, "\n".join(synth.lines)
    for audio in (before, again, after_pd, after_path):
        check_output(audio)
    noise_floor = spectral_distance_db(before, again)
    assert spectral_distance_db(before, after_pd) > max(2.0, 3 * noise_floor)
    assert spectral_distance_db(after_pd, after_path) > max(2.0, 3 * noise_floor)


def test_fuzz_does_not_stop_the_synth_and_valid_latent_still_works(jack, shipped_model,
                                                                    tmp_path):
    synth, port = start(jack, shipped_model)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    rng = random.Random(11)
    valid = OscMessageBuilder("/xy")
    valid.add_arg(0.5)
    valid.add_arg(0.5)
    template = valid.build().dgram
    try:
        before = record(jack, 1.0, tmp_path / "before.wav")
        for index in range(10_000):
            choice = index % 5
            if choice == 0:
                datagram = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 128)))
            elif choice == 1:
                mutated = bytearray(template)
                mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
                datagram = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
            elif choice == 2:
                datagram = b"#bundle\x00" + bytes(rng.getrandbits(8) for _ in range(24))
            elif choice == 3:
                builder = OscMessageBuilder("/latent")
                for _ in range(rng.choice((3, 16, 17))):
                    builder.add_arg(rng.choice((float("nan"), 7.0, "x", -1.0)))
                datagram = builder.build().dgram
            else:
                datagram = b"/" + bytes(rng.getrandbits(8) for _ in range(60_000))
            sender.sendto(datagram, target)
        assert synth.process.poll() is None, "the synth died under fuzzing"
        during = record(jack, 1.0, tmp_path / "during.wav")
        sender.sendto(_latent_message(), target)
        time.sleep(0.8)
        after = record(jack, 1.5, tmp_path / "after.wav")
    finally:
        sender.close()
        code = synth.interrupt()
    assert code == 0
    for audio in (before, during, after):
        check_output(audio)
    assert spectral_distance_db(during, after) > 2.0
    dropped = [line for line in synth.lines if "dropped" in line]
    assert dropped and len(dropped) < 50, "warnings must be rate-limited"


def _latent_message() -> bytes:
    builder = OscMessageBuilder("/latent")
    for value in FAR_LATENT.split():
        builder.add_arg(float(value))
    return builder.build().dgram


def test_sigint_fades_out_and_leaves_nothing_behind(jack, shipped_model):
    shm_before = set(os.listdir("/dev/shm"))
    synth, _ = start(jack, shipped_model)
    children = subprocess.run(["pgrep", "-P", str(synth.process.pid)], capture_output=True,
                              text=True).stdout.split()
    assert len(children) >= 2, "decoder and OSC listener run in their own processes"
    assert synth.interrupt() == 0
    _assert_gone(children, shm_before)
    assert "deepnote:output_1" not in jack.ports()


def test_ctrl_c_at_a_terminal_stops_everything_with_no_traceback(jack, shipped_model):
    """A terminal's Ctrl-C goes to the whole process group: the workers too. They used to
    die of it, each printing a KeyboardInterrupt traceback, while the synth stopped them."""
    synth = SynthProcess(jack, shipped_model, free_udp_port(), "--voice", str(DEFAULT_VOICE),
                         own_process_group=True)
    synth.wait_for("playing")
    children = _children(synth)
    assert len(children) >= 3, "decoder, OSC listener and voice run in their own processes"
    os.killpg(synth.process.pid, signal.SIGINT)
    assert synth.process.wait(timeout=30) == 0
    time.sleep(0.1)  # the last lines of output
    assert not [line for line in synth.lines if "Traceback" in line or "KeyboardInterrupt"
                in line], synth.lines[-20:]
    assert not [pid for pid in children if _running(pid)]


def _running(pid: str) -> bool:
    """Alive and not a zombie (an exited child waiting to be reaped by init)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_killed_decoder_is_restarted_and_sound_continues(jack, shipped_model, tmp_path):
    synth, port = start(jack, shipped_model)
    try:
        check_output(record(jack, 1.0, tmp_path / "before.wav"))
        os.kill(_logged_pid(synth, "decoder pid"), signal.SIGKILL)
        synth.wait_for("restarting it")
        # Controls are served while the new worker loads torch (it takes seconds).
        state = ask_state(port, timeout=0.5)
        assert state["/state/mode"] == ["point"] and state["/state/decoder/restarts"] == [1]
        meanwhile = record(jack, 1.0, tmp_path / "meanwhile.wav")
        oscsend(port, "/xy", "ff", 0.9, 0.1)
        time.sleep(1.0)
        after = record(jack, 1.0, tmp_path / "after.wav")
    finally:
        code = synth.interrupt()
    assert code == 0
    check_output(meanwhile)
    check_output(after)


def test_killed_listener_is_restarted_on_the_same_port(jack, shipped_model, tmp_path):
    synth, port = start(jack, shipped_model)
    try:
        os.kill(_logged_pid(synth, "OSC listener pid"), signal.SIGKILL)
        synth.wait_for("restarting it")
        synth.wait_for(f"listens again on port {port}")
        assert ask_state(port)["/state/listener/restarts"] == [1]
        time.sleep(1.0)
        before = record(jack, 1.0, tmp_path / "before.wav")
        oscsend(port, "/latent", "f" * 16, *FAR_LATENT.split())
        time.sleep(1.0)
        after = record(jack, 1.0, tmp_path / "after.wav")
    finally:
        code = synth.interrupt()
    assert code == 0
    assert spectral_distance_db(before, after) > 2.0


def _logged_pid(synth: SynthProcess, label: str) -> int:
    synth.wait_for(label)
    line = next(line for line in synth.lines if label in line)
    return int(line.split(label)[1].split(",")[0].split()[0])


def test_jack_stopping_under_the_synth_ends_it_cleanly(shipped_model):
    shm_before = set(os.listdir("/dev/shm"))
    jack = JackServer()
    synth, _ = start(jack, shipped_model)
    children = _children(synth)
    jack.stop()
    assert synth.process.wait(timeout=20) == 1
    assert any("audio server stopped under the synth" in line for line in synth.lines)
    _assert_gone(children, shm_before)


def test_sigkill_of_the_synth_leaves_no_workers_or_shared_memory(jack, shipped_model):
    shm_before = set(os.listdir("/dev/shm"))
    synth, _ = start(jack, shipped_model)
    children = _children(synth)
    synth.kill()
    _assert_gone(children, shm_before)


def _children(synth: SynthProcess) -> list[str]:
    return subprocess.run(["pgrep", "-P", str(synth.process.pid)], capture_output=True,
                          text=True).stdout.split()


def _assert_gone(children: list[str], shm_before: set[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _running(pid)]
    leaked = {name for name in set(os.listdir("/dev/shm")) - shm_before
              if name.startswith("psm_")}
    assert not leaked


def test_a_synth_started_ignoring_sigint_stops_on_it_once_running(jack, shipped_model):
    """A shell's background job starts with SIGINT ignored. From the synth's first line of
    Python on, a SIGINT stops it anyway, as at a terminal: it used to be ignored until the
    live synth installed its flag, and the synth played on (issue 17's lost stops)."""
    synth = SynthProcess(jack, shipped_model, free_udp_port(), "--voice", str(DEFAULT_VOICE),
                         sigint_ignored=True)
    deadline = time.monotonic() + 30
    while not synth.catches(signal.SIGINT):
        assert time.monotonic() < deadline and synth.process.poll() is None, synth.lines
        time.sleep(0.005)
    synth.process.send_signal(signal.SIGINT)
    try:
        code = synth.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        synth.kill()
        pytest.fail("the SIGINT was lost: " + " | ".join(synth.lines[-4:]))
    assert code in (0, 130), synth.lines[-5:]
    assert not any("Traceback" in line for line in synth.lines), synth.lines[-8:]


STOP_TRIALS = 50


def _processes_marked(marker: str) -> list[str]:
    """Live processes whose environment carries ``marker`` (the synth and every worker it
    spawned, even one orphaned and adopted by init)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if marker.encode() in environ.read() and _running(pid):
                    found.append(pid)
        except OSError:
            continue
    return found


def test_stopping_at_any_moment_leaves_nothing_behind(jack, shipped_model, tmp_path):
    """SIGINT or SIGTERM at 50 random moments: while the synth starts (workers loading torch
    and the voice, half the time with empty numba caches so the kernels are compiling) and
    while it plays. Every time it exits at once, with no process, shared-memory segment or
    JACK port left."""
    rng = random.Random(7)
    shm_before = set(os.listdir("/dev/shm"))
    moments = []
    refused = 0
    lost: list[str] = []
    for trial in range(STOP_TRIALS):
        marker = f"DEEPNOTE_STOP_TRIAL=t{trial}-{os.getpid()}"
        env = {"DEEPNOTE_STOP_TRIAL": marker.split("=")[1]}
        cold = trial % 2 == 0
        if cold:
            env["NUMBA_CACHE_DIR"] = str(tmp_path / f"numba-{trial}")
        synth = SynthProcess(jack, shipped_model, free_udp_port(), "--voice", str(DEFAULT_VOICE),
                             env=env)
        playing = trial % 10 == 9  # warm: a cold start takes long to reach "playing"
        if playing:
            synth.wait_for("playing")
        time.sleep(rng.uniform(0.0, 1.0 if playing else 3.0))
        moments.append("playing" if playing else "cold start" if cold else "start")
        assert _processes_marked(marker), "the marker finds the synth's processes"
        sent = rng.choice([signal.SIGINT, signal.SIGTERM])
        synth.process.send_signal(sent)
        try:
            code = synth.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Issue 17: a SIGINT sent in the synth's first moments was lost when the suite ran
            # as a background job (SIGINT ignored, inherited), 3..6 of 50. conftest now gives
            # every child the default; should one be lost again, its stacks go to the log, the
            # signal is sent again, and the second must stop it. At most two may be lost.
            synth.process.send_signal(signal.SIGUSR1)  # every thread's stack, to its stderr
            time.sleep(1.0)
            lost.append(f"trial {trial} ({moments[-1]}, {sent.name}):\n"
                        + "\n".join(synth.lines[-60:]))
            synth.process.send_signal(sent)
            try:
                code = synth.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                synth.kill()
                pytest.fail("a second signal did not stop it either:\n" + lost[-1])
        # -SIGINT: a Ctrl-C that lands in code pyo runs through PyRun_SimpleString marks
        # CPython's "unhandled KeyboardInterrupt" flag, and CPython ends the process with
        # SIGINT after main() has answered it (a shell reports 130 either way).
        if any("audio server did not start" in line for line in synth.lines):
            # jackd's dummy driver, loaded by a busy machine, sometimes refuses a client right
            # after the last one; the synth says so in one line (exit 2), though pyo may then
            # crash in its own teardown (-11). Either way nothing may be left behind.
            assert code in (2, -signal.SIGSEGV), (trial, code, synth.lines[-5:])
            refused += 1
        else:
            assert code in (0, 130, -signal.SIGINT, -signal.SIGTERM), (trial, code,
                                                                       synth.lines[-5:])
        time.sleep(0.05)  # the last lines of output
        assert not any("Traceback" in line for line in synth.lines), synth.lines[-8:]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _processes_marked(marker):
            time.sleep(0.1)
        assert not _processes_marked(marker), (trial, moments[-1])
        leaked = {name for name in set(os.listdir("/dev/shm")) - shm_before
                  if name.startswith("psm_")}
        assert not leaked, (trial, moments[-1])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "deepnote:output_1" in jack.ports():
            time.sleep(0.1)
        assert "deepnote:output_1" not in jack.ports(), (trial, moments[-1])
        time.sleep(0.3)  # let jackd forget the client before the next one asks
    assert moments.count("playing") == STOP_TRIALS // 10
    assert refused <= STOP_TRIALS // 10, f"JACK refused {refused} of {STOP_TRIALS} starts"
    if lost:
        warnings.warn(f"{len(lost)} signal(s) lost, stopped by a second one:\n"
                      + "\n\n".join(lost), stacklevel=1)
    assert len(lost) <= 2, "\n\n".join(lost)
