"""Real audio peers for integration tests: a private JACK dummy server, the synth as a
subprocess, and recordings of what JACK actually played."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import soundfile

CEILING = 10 ** (-1 / 20)  # -1 dBFS
REPO = Path(__file__).resolve().parents[1]
CONTROL_CLIENT = "control"  # a metronome in C beside the synth: what the machine alone causes
XRUN_LINE = re.compile(r"JackEngine::XRun: client = (.+) was not finished")


def tools_missing() -> list[str]:
    return [tool for tool in ("jackd", "jack_rec", "jack_lsp", "jack_metro")
            if shutil.which(tool) is None]


def xrun_events(log_lines: list[str]) -> list[set[str]]:
    """The clients each xrun left unfinished, one set per xrun, from jackd's log. JACK logs
    a line per unfinished client in ascending client number, one xrun after another: a
    client named twice begins the next xrun, and so does the control client, which has the
    lowest number when it was started first."""
    events: list[set[str]] = []
    for line in log_lines:
        match = XRUN_LINE.search(line)
        if match is None:
            continue
        client = match.group(1)
        if not events or client in events[-1] or client == CONTROL_CLIENT:
            events.append(set())
        events[-1].add(client)
    return events


class JackServer:
    """``jackd -d dummy`` under a unique server name, stopped by PID."""

    def __init__(self, rate: int = 48000, period: int = 256) -> None:
        self.name = f"deepnote-test-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "JACK_DEFAULT_SERVER": self.name,
                    "JACK_NO_AUDIO_RESERVATION": "1"}
        self.log_lines: list[str] = []
        self._control: subprocess.Popen | None = None
        if self._start(rate, period):
            return
        if any("Too many servers already active" in line for line in self.log_lines) and \
                _forget_stale_jack_servers():
            self.log_lines = []
            if self._start(rate, period):
                return
        raise RuntimeError("jackd did not start:\n" + "\n".join(self.log_lines[-20:]))

    def _start(self, rate: int, period: int) -> bool:
        self._process = subprocess.Popen(
            ["jackd", "-n", self.name, "-d", "dummy", "-r", str(rate),
             "-p", str(period)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        threading.Thread(target=self._collect, daemon=True).start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            probe = subprocess.run(["jack_lsp"], env=self.env, capture_output=True, text=True)
            if "system:playback_1" in probe.stdout:
                return True
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        return False

    def _collect(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.log_lines.append(line.rstrip())

    def ports(self) -> list[str]:
        return subprocess.run(["jack_lsp"], env=self.env, capture_output=True,
                              text=True).stdout.split()

    def xruns(self, client: str) -> int:
        return sum(f"client = {client} was not finished" in line for line in self.log_lines)

    def start_control_client(self) -> None:
        """A C client doing next to nothing (``jack_metro``), started before any other, so
        that an xrun it shares is the machine's (a stalled server thread), not the synth's."""
        self._control = subprocess.Popen(
            ["jack_metro", "-n", CONTROL_CLIENT, "-b", "60"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not any(port.startswith(f"{CONTROL_CLIENT}:") for port in self.ports()):
            if time.monotonic() > deadline or self._control.poll() is not None:
                raise RuntimeError("jack_metro did not start")
            time.sleep(0.1)

    def app_xruns(self, client: str) -> tuple[int, int]:
        """(xruns ``client`` alone caused: the control client finished; xruns the machine
        caused: the control client did not finish either) so far."""
        events = [event for event in xrun_events(self.log_lines) if client in event]
        machine = sum(CONTROL_CLIENT in event for event in events)
        return len(events) - machine, machine

    def stop(self) -> None:
        if self._control is not None and self._control.poll() is None:
            self._control.terminate()
            self._control.wait(timeout=5)
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _forget_stale_jack_servers() -> bool:
    """JACK keeps a registry of at most 8 servers in shared memory; a jackd that died
    without cleaning up (killed) stays in it, and after a long day of test runs no new
    server starts ("Too many servers already active"). With no jackd running at all, the
    registry is stale by definition: remove it (jackd makes a new one). True if it did."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "jackd":
                return False
        except OSError:
            continue  # a process that ended meanwhile
    registry = Path("/dev/shm/jack-shm-registry")
    if not registry.exists():
        return False
    registry.unlink()
    return True


def _ignore_sigint() -> None:
    """As a shell starts a background job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class SynthProcess:
    """``deepnote-synth --audio jack`` with its stderr collected line by line.

    Without ``--voice`` among the extra arguments it runs with ``--no-voice``: the grain
    tests stay about grains; the voice tests name the voice they play."""

    def __init__(self, jack: JackServer, model: Path, port: int, *extra: str,
                 env: dict[str, str] | None = None, sigint_ignored: bool = False,
                 own_process_group: bool = False) -> None:
        self.jack = jack
        self.lines: list[str] = []
        if "--voice" not in extra:
            extra = (*extra, "--no-voice")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synth", "--model", str(model), "--audio", "jack",
             "--osc-port", str(port), "--jack-name", "deepnote", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**jack.env, **(env or {})}, cwd=REPO,
            preexec_fn=_ignore_sigint if sigint_ignored else None,
            start_new_session=own_process_group)
        threading.Thread(target=self._collect, daemon=True).start()

    def catches(self, number: int) -> bool:
        """Whether the process has a handler for signal ``number`` installed now."""
        with open(f"/proc/{self.process.pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
        return bool(int(caught.split()[1], 16) >> (number - 1) & 1)

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"synth never said {text!r}:\n" + "\n".join(self.lines[-30:]))

    def interrupt(self, timeout: float = 15.0) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def record(jack: JackServer, seconds: float, path: Path,
           ports: tuple[str, ...] = ("deepnote:output_1", "deepnote:output_2")) -> np.ndarray:
    """What JACK played on ``ports`` for ``seconds``, as [frames, channels] floats."""
    subprocess.run(["jack_rec", "-f", str(path), "-d", f"{seconds}", *ports], env=jack.env,
                   check=True, capture_output=True, timeout=seconds + 20)
    audio, _ = soundfile.read(path, dtype="float32", always_2d=True)
    return audio


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def band_spectrum_db(audio: np.ndarray, bands: int = 48) -> np.ndarray:
    """Mean power in log-spaced bands (dB) of the first channel."""
    mono = audio[:, 0].astype(np.float64)
    frames = np.lib.stride_tricks.sliding_window_view(mono, 2048)[::1024]
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(2048), axis=1)) ** 2, axis=0)
    edges = np.unique(np.geomspace(4, len(power) - 1, bands + 1).astype(int))
    bands_power = np.array([power[a:b].mean() for a, b in itertools.pairwise(edges)])
    return 10 * np.log10(bands_power + 1e-12)


def spectral_distance_db(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference of the band spectra, after removing the overall level difference."""
    difference = band_spectrum_db(a) - band_spectrum_db(b)
    return float(np.sqrt(np.mean((difference - difference.mean()) ** 2)))


def spectral_centroid_hz(audio: np.ndarray, rate: int) -> float:
    """Power-weighted mean frequency of the first channel (or of a mono signal)."""
    mono = (audio[:, 0] if audio.ndim == 2 else audio).astype(np.float64)
    power = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    return float(power @ np.fft.rfftfreq(len(mono), 1 / rate) / power.sum())


def ask_state(port: int, timeout: float = 5.0) -> dict[str, list]:
    """Ask a running synth for /state; its reply bundle as {address: values}."""
    from pythonosc.osc_bundle import OscBundle
    from pythonosc.osc_message_builder import OscMessageBuilder

    reply = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reply.bind(("127.0.0.1", 0))
    reply.settimeout(timeout)
    builder = OscMessageBuilder("/state")
    builder.add_arg(reply.getsockname()[1])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(builder.build().dgram, ("127.0.0.1", port))
        datagram, _ = reply.recvfrom(65536)
    finally:
        reply.close()
    return {message.address: list(message.params) for message in OscBundle(datagram)}
